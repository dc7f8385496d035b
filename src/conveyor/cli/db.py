"""``conveyor db``: create, upgrade, check and reset the metadata store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from conveyor.cli.common import CliError, console, err_console, open_store, settings
from conveyor.cli.import_airflow import import_airflow
from conveyor.store import schema
from conveyor.store.engine import Store


@click.group()
def db() -> None:
    """Manage the metadata database."""


db.add_command(import_airflow)


@db.command()
def migrate() -> None:
    """Create or upgrade the schema (safe to run again: a current schema is left as it is)."""
    store = Store(settings().db_url)
    click.get_current_context().call_on_close(store.dispose)  # in-process callers too
    before = schema.current_revision(store)
    schema.migrate(store)
    after = schema.current_revision(store)
    if before == after:
        console.print(f"schema of {store.describe()} is current (revision {after})")
    else:
        console.print(f"migrated {store.describe()} from {before or 'empty'} to {after}")


@db.command()
def init() -> None:
    """Airflow's old name for `conveyor db migrate`, which it runs (no example data added)."""
    err_console.print(
        "note: `db init` is Airflow's old name; Conveyor runs `conveyor db migrate` "
        "(it loads no example connections, as Airflow 3 no longer does)"
    )
    click.get_current_context().invoke(migrate)


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


def _age(_ctx: click.Context, _param: click.Parameter, value: str) -> timedelta:
    from conveyor.store.retention import parse_age

    try:
        return parse_age(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@db.command()
@click.option(
    "--older-than",
    required=True,
    callback=_age,
    help="Age of the finished runs to delete: 30d, 12h, 90m, 2w.",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def clean(older_than: timedelta, dry_run: bool) -> None:
    """Delete finished runs older than --older-than, with their tries, XCom and logs,
    audit log entries older than the setting audit_retention_days, and task state values
    whose retention passed.

    Queued and running runs are kept however old. Safe to run while the cluster runs and to
    run again (e.g. daily from cron or a systemd timer).
    """
    from conveyor.store.retention import clean as clean_runs

    config = settings()
    store = open_store(config)
    report = clean_runs(store, config, older_than, dry_run=dry_run)
    counts = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in report.as_dict().items())
    verb = "would delete" if dry_run else "deleted"
    cutoff = datetime.now(UTC) - older_than
    console.print(f"{verb}: {counts} (runs that ended before {cutoff:%Y-%m-%d %H:%M} UTC)")
    from conveyor.store import audit

    days = config.audit_retention_days
    entries = audit.clean(store, days, dry_run=dry_run)
    kept = f"older than {days} days (audit_retention_days)" if days else "none: kept forever"
    console.print(f"{verb}: {entries} audit log entries ({kept})")
    from conveyor.store import state_store

    expired = state_store.clean_expired(store, dry_run=dry_run)
    console.print(f"{verb}: {expired} expired task state values (their retention passed)")
