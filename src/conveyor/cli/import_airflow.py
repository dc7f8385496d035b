"""``conveyor db import-airflow URL``: take over a running Airflow's metadata database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from conveyor.cli.common import console, open_store, settings

#: How far back the history goes unless --since says otherwise.
DEFAULT_HISTORY_DAYS = 90


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC) - timedelta(days=DEFAULT_HISTORY_DAYS)
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected a date such as 2026-01-31") from None
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


@click.command("import-airflow")
@click.argument("url")
@click.option(
    "--fernet-key",
    default=None,
    help="Airflow's Fernet key, or its comma-separated list (default: AIRFLOW__CORE__FERNET_KEY).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.option(
    "--since",
    callback=_since,
    default=None,
    help=f"Take runs from this date on (default: the last {DEFAULT_HISTORY_DAYS} days); "
    "each DAG's latest scheduled run is taken whatever its age.",
)
@click.option(
    "--logs",
    "airflow_logs",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Airflow's log folder (its base_log_folder): copy the imported tries' logs from it.",
)
def import_airflow(
    url: str, fernet_key: str | None, dry_run: bool, since: datetime, airflow_logs: Path | None
) -> None:
    """Import an Airflow 2.7-3.3 metadata database (its SQLAlchemy URL; read, never written):
    connections, variables, pools, users and roles, pause states, the run history and asset
    events, so that each schedule continues where Airflow left off. Run it again to take what
    is new. Stop Airflow first: a try it left started is taken as failed, never run twice.

    Parse the DAG folder first (`conveyor dags reserialize`): a run pins its DAG's version.
    """
    from conveyor.airflow_import.apply import apply_plan, plan_import
    from conveyor.cli.import_airflow_output import print_plan

    config = settings()
    store = open_store(config)
    plan = plan_import(store, url, fernet_key, since)
    print_plan(console, plan, dry_run=dry_run)
    if dry_run and airflow_logs is not None:
        console.print("--logs: no log is copied in a dry run")
    if not dry_run:
        apply_plan(store, config, plan)
        if airflow_logs is not None:
            from conveyor.airflow_import.logs import copy_logs
            from conveyor.cli.import_airflow_output import print_logs

            print_logs(console, copy_logs(store, config, plan, airflow_logs), airflow_logs)
        console.print("import done: start the scheduler with Airflow stopped")
