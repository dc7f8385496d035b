"""``conveyor db``: create, upgrade, check and reset the metadata store."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import click

from conveyor.cli.common import (
    CliError,
    console,
    err_console,
    open_store,
    parse_moment,
    settings,
)
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
    _schema_current(wait_seconds=0)


@db.command("check-migrations")
@click.option(
    "-t",
    "--migration-wait-timeout",
    "timeout",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    help="Seconds to wait for the schema to become current.",
)
def check_migrations(timeout: int) -> None:
    """Airflow's: wait for another process's `conveyor db migrate` (an init container's,
    say) until the schema is current, then exit 0; exit 1 if it is not by the timeout."""
    _schema_current(wait_seconds=timeout)


def _schema_current(wait_seconds: int) -> None:
    """Say the schema is current, waiting up to ``wait_seconds`` for it; CliError if not."""
    store = Store(settings().db_url)
    click.get_current_context().call_on_close(store.dispose)
    head, deadline = schema.head_revision(), time.monotonic() + wait_seconds
    current = schema.current_revision(store)
    while current != head and time.monotonic() < deadline:
        time.sleep(1)
        current = schema.current_revision(store)
    if current != head:
        waited = f" after {wait_seconds}s" if wait_seconds else ""
        raise CliError(
            f"schema of {store.describe()} is at {current or 'empty'}{waited}, expected "
            f"{head}: run `conveyor db migrate`"
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


def _age_or_none(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> timedelta | None:
    from conveyor.store.retention import parse_age

    if value is None:
        return None
    try:
        return parse_age(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _cut_off(older_than: timedelta | None, before: str | None) -> timedelta:
    """The age of the runs to delete, from --older-than or Airflow's
    --clean-before-timestamp (one of them, not both)."""
    if (older_than is None) == (before is None):
        raise click.UsageError("give --older-than AGE or --clean-before-timestamp TIMESTAMP")
    if older_than is not None:
        return older_than
    moment = parse_moment(before, "--clean-before-timestamp")
    assert moment is not None  # given, and parse_moment refuses an empty one
    age = datetime.now(UTC) - moment
    if age <= timedelta(0):
        raise click.BadParameter(
            f"{before!r} is not in the past", param_hint="--clean-before-timestamp"
        )
    return age


@db.command()
@click.option(
    "--older-than",
    callback=_age_or_none,
    help="Age of the finished runs to delete: 30d, 12h, 90m, 2w.",
)
@click.option(
    "--clean-before-timestamp",
    "before",
    metavar="TIMESTAMP",
    help="Airflow's spelling: delete the finished runs that ended before this moment "
    "(YYYY-MM-DD or ISO 8601, UTC unless it has an offset).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.option(
    "--tables",
    help="Airflow's: refused, as Conveyor deletes a run with everything that is its own.",
)
@click.option(
    "--skip-archive",
    is_flag=True,
    help="Airflow's: accepted; Conveyor keeps no archive of what it deletes.",
)
@click.option("-y", "--yes", is_flag=True, help="Airflow's: accepted; Conveyor never asks.")
def clean(
    older_than: timedelta | None,
    before: str | None,
    dry_run: bool,
    tables: str | None,
    skip_archive: bool,
    yes: bool,
) -> None:
    """Delete finished runs older than --older-than (or ended before
    --clean-before-timestamp), with their tries, XCom and logs, audit log entries older
    than the setting audit_retention_days, and task state values whose retention passed.

    Queued and running runs are kept however old. Safe to run while the cluster runs and to
    run again (e.g. daily from cron or a systemd timer).
    """
    from conveyor.store.retention import clean as clean_runs

    if tables is not None:
        raise click.UsageError(
            f"--tables {tables}: Conveyor deletes a run with its task instances, tries, XCom "
            "and logs together, and the audit log by audit_retention_days; leave --tables out"
        )
    older_than = _cut_off(older_than, before)
    if before is not None and not skip_archive:
        err_console.print(
            "note: Conveyor keeps no archive of what it deletes (Airflow's "
            "_airflow_deleted__ tables); --skip-archive says the same"
        )
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
