"""``conveyor db``: create, upgrade, check and reset the metadata store."""

from __future__ import annotations

import click

from conveyor.cli.common import CliError, console, settings
from conveyor.store import schema
from conveyor.store.engine import Store


@click.group()
def db() -> None:
    """Manage the metadata database."""


@db.command()
def migrate() -> None:
    """Create or upgrade the schema (safe to run again: a current schema is left as it is)."""
    store = Store(settings().db_url)
    before = schema.current_revision(store)
    schema.migrate(store)
    after = schema.current_revision(store)
    if before == after:
        console.print(f"schema of {store.describe()} is current (revision {after})")
    else:
        console.print(f"migrated {store.describe()} from {before or 'empty'} to {after}")


@db.command()
def check() -> None:
    """Exit 0 if the schema is current, 1 if it needs `conveyor db migrate`."""
    store = Store(settings().db_url)
    current, head = schema.current_revision(store), schema.head_revision()
    if current != head:
        raise CliError(
            f"schema of {store.describe()} is at {current or 'empty'}, expected {head}: "
            "run `conveyor db migrate`"
        )
    console.print(f"schema is current (revision {head})")


@db.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(yes: bool) -> None:
    """Drop all tables and create them again. Every run and log record is lost."""
    store = Store(settings().db_url)
    if not yes:
        click.confirm(f"Delete all data in {store.describe()}?", abort=True)
    schema.reset(store)
    console.print(f"reset {store.describe()}")
