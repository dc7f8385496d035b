"""``conveyor dags next-execution``: the next runs a DAG's schedule makes, as Airflow prints
them. A module of its own: it reads the DAG's structure and its schedule (croniter beneath),
which the other Airflow-spelled reads of ``dags_airflow.py`` do not import."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from conveyor.cli.common import err_console, open_store
from conveyor.cli.output import write_rows
from conveyor.model.partitioned_timetables import CronPartitionTimetable
from conveyor.model.schedules import RunInfo
from conveyor.serialized import SerializedDag
from conveyor.store import due_times, runs
from conveyor.store.reads import dags as dag_reads

_NEXT_FIELDS = ("logical_date", "data_interval.start", "data_interval.end", "run_after")
#: A partitioned DAG's fields, as Airflow 3.3 shows them in their place.
_PARTITION_FIELDS = ("partition_key", "partition_date", "run_after")


@click.command("next-execution")
@click.argument("dag_id")
@click.option(
    "-n", "--num-executions", default=1, type=click.IntRange(min=1), help="How many to show."
)
@click.option("--table", "as_table", is_flag=True, help="Every field of each, as a table.")
@click.option(
    "--field",
    type=click.Choice(_NEXT_FIELDS + _PARTITION_FIELDS[:2]),
    help="Show this field instead.",
)
def dags_next_execution(
    dag_id: str, num_executions: int, as_table: bool, field: str | None
) -> None:
    """The logical date of the DAG's next scheduled run(s) (Airflow: dags next-execution);
    a partitioned DAG's: the partition key.

    Prints None (and a warning) where the schedule has no further run.
    """
    if as_table and field:
        raise click.UsageError("--table and --field cannot go together")
    store = open_store()
    with store.read() as conn:
        row = dag_reads.get_dag(conn, dag_id)
        _version, structure = runs.latest_version(conn, dag_id)
        last = due_times.last_scheduled_interval(conn, dag_id)
    if row.is_paused:
        err_console.print("[INFO] Please be reminded this DAG is PAUSED now.", markup=False)
    upcoming = _upcoming(structure, last, num_executions)
    schedule = structure.schedule
    partitioned = schedule if isinstance(schedule, CronPartitionTimetable) else None
    if as_table:
        names = _PARTITION_FIELDS if partitioned else _NEXT_FIELDS
        write_rows(
            "table",
            list(names),
            [[_field(info, name, partitioned) for name in names] for info in upcoming if info],
        )
    default = "partition_key" if partitioned else "logical_date"
    for info in upcoming if not as_table else ():
        value = None if info is None else _field(info, field or default, partitioned)
        click.echo(value.isoformat() if isinstance(value, datetime) else str(value))
    if None in upcoming:
        err_console.print(
            "[WARN] No following schedule can be found. "
            "This DAG may have schedule interval '@once' or `None`.",
            markup=False,
        )


def _upcoming(
    structure: SerializedDag, last: tuple[datetime, datetime] | None, count: int
) -> list[RunInfo | None]:
    """The next ``count`` runs the schedule makes after the latest scheduled one; None
    ends the list where there are no more."""
    from conveyor.model.schedules import DataInterval

    now = datetime.now(UTC)
    found: list[RunInfo | None] = []
    interval = DataInterval(*last) if last else None
    catchup = structure.catchup
    while len(found) < count:
        info = structure.schedule.next_run(
            last=interval,
            start_date=structure.start_date,
            end_date=structure.end_date,
            catchup=catchup,
            now=now,
        )
        found.append(info)
        if info is None:
            break
        interval, catchup = info.data_interval, True  # the ones after follow on
    return found


def _field(
    info: RunInfo, name: str, partitioned: CronPartitionTimetable | None
) -> datetime | str | None:
    """A field of a next run; a partition's only for a partitioned DAG (None otherwise, as
    its runs have none)."""
    if name in ("partition_key", "partition_date"):
        if partitioned is None:
            return None
        if name == "partition_key":
            return partitioned.partition_key(info.run_after)
        return partitioned.partition_date(info.run_after)
    moments = {
        "data_interval.start": info.data_interval.start,
        "data_interval.end": info.data_interval.end,
        "run_after": info.run_after,
    }
    return moments.get(name, info.logical_date)
