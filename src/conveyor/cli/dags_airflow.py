"""``conveyor dags`` verbs under Airflow's names: state, next-execution, delete, details,
report, list-import-errors and Airflow 2's backfill.

Each prints what Airflow's command prints for the same question (``dags state`` a run's
state and its conf, ``next-execution`` the next logical dates), so scripts written for
Airflow read the same answers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from conveyor.cli.common import CliError, console, err_console, open_store, settings, sync_dags
from conveyor.cli.output import Cell, output_option, write_data, write_rows
from conveyor.cli.runs import run_by_id_or_date
from conveyor.model.partitioned_timetables import CronPartitionTimetable
from conveyor.model.schedules import RunInfo
from conveyor.serialized import SerializedDag
from conveyor.states import RUN_FINISHED
from conveyor.store import due_times, runs
from conveyor.store.reads import dag_files
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import runs as run_reads
from conveyor.web import queries


@click.command("state")
@click.argument("dag_id")
@click.argument("logical_date_or_run_id")
def dags_state(dag_id: str, logical_date_or_run_id: str) -> None:
    """A run's state, with its conf when it has one (Airflow: dags state).

    LOGICAL_DATE_OR_RUN_ID is a run id, or a logical date (YYYY-MM-DD or ISO, UTC unless it
    has an offset). Prints None when the DAG has no such run, as Airflow does.
    """
    with open_store().read() as conn:
        dag_reads.get_dag(conn, dag_id)
        run = run_by_id_or_date(conn, dag_id, logical_date_or_run_id)
    if run is None:
        click.echo("None")
    elif run.conf:
        click.echo(f"{run.state.value}, {json.dumps(run.conf)}")
    else:
        click.echo(run.state.value)


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


@click.command("delete")
@click.argument("dag_id")
@click.option("-y", "--yes", is_flag=True, help="Do not ask first.")
def dags_delete(dag_id: str, yes: bool) -> None:
    """Delete every run of the DAG, with its task instances, tries, XComs and logs
    (Airflow: dags delete).

    Refused while a run is queued or running. The DAG itself stays listed while its file is
    in the DAG folder (Airflow parses it back too); remove the file to remove the DAG.
    """
    from conveyor.logs import delete_try_logs
    from conveyor.store import run_deletion

    config = settings()
    store = open_store(config)
    with store.read() as conn:
        dag_reads.get_dag(conn, dag_id)
        listed = run_reads.list_runs(conn, dag_id=dag_id, limit=1_000_000)
    running = [r.run_id for r in listed if r.state not in {s.value for s in RUN_FINISHED}]
    if running:
        raise CliError(
            f"{dag_id} has runs not finished ({', '.join(running[:5])}"
            f"{', ...' if len(running) > 5 else ''}): mark them failed first "
            f"(conveyor runs mark {dag_id} RUN --state failed), then delete"
        )
    if not yes:
        click.confirm(
            f"This deletes every run of {dag_id} ({len(listed)}) and what they recorded. Proceed?",
            abort=True,
        )
    paths: list[str] = []
    with store.write() as conn:
        for r in listed:
            paths += run_deletion.delete_run(conn, dag_id, r.run_id).log_paths
    delete_try_logs(config, paths)  # after the commit
    console.print(f"Removed {len(listed)} run(s) of {dag_id}", markup=False)


@click.command("details")
@click.argument("dag_id")
@output_option
def dags_details(dag_id: str, output: str) -> None:
    """A DAG's properties, one a line (Airflow: dags details); -o json as the API's
    GET /dags/{dag}."""
    store = open_store()
    sync_dags(store)
    with store.read() as conn:
        detail = queries.get_dag(conn, dag_id)
    if write_data(output, detail):
        return
    data = detail.model_dump(mode="json", by_alias=True)
    rows = [[name, _one_line(value)] for name, value in data.items() if name != "tasks"]
    rows.append(["tasks", ", ".join(t.task_id for t in detail.tasks)])
    write_rows(output, ["property_name", "property_value"], rows)


def _one_line(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


@click.command("report")
@output_option
def dags_report(output: str) -> None:
    """Each DAG file as last parsed: parse time, DAGs, tasks (Airflow: dags report)."""
    store = open_store()
    sync_dags(store)
    with store.read() as conn:
        found = dag_files.file_stats(conn)
        counts = {
            dag_id: len(runs.serialized_dag(conn, version).tasks)
            for stat in found
            for dag_id, version in stat.dags
        }
    report: list[dict[str, Any]] = [
        {
            "file": s.fileloc,
            "duration": s.parse_seconds,
            "dag_num": len(s.dags),
            "task_num": sum(counts[d] for d, _ in s.dags),
            "dags": [d for d, _ in s.dags],
        }
        for s in found
    ]
    if write_data(output, report):
        return
    rows: list[list[Cell]] = [
        [r["file"], _seconds(r["duration"]), r["dag_num"], r["task_num"], ", ".join(r["dags"])]
        for r in report
    ]
    write_rows(
        output, ["file", "duration", "dag_num", "task_num", "dags"], rows, empty="no DAG files"
    )


def _seconds(value: float | None) -> str | None:
    return None if value is None else f"{value:.3f}s"


@click.command("list-import-errors")
@output_option
def dags_list_import_errors(output: str) -> None:
    """DAG files that fail to load, as Airflow lists them (filepath, error); exit 1 if
    there are any. `conveyor dags errors` prints them with line numbers."""
    store = open_store()
    sync_dags(store)
    with store.read() as conn:
        found = dag_reads.import_errors(conn)
    rows = [{"filepath": e.fileloc, "error": e.traceback or e.message} for e in found]
    if not write_data(output, rows):
        write_rows(
            output,
            ["filepath", "error"],
            [[r["filepath"], r["error"]] for r in rows],
            empty="No data found",
        )
    if rows:
        raise SystemExit(1)


@click.command("backfill")
@click.argument("dag_id")
@click.option("-s", "--start-date", required=True, help="The first logical date.")
@click.option("-e", "--end-date", required=True, help="The last logical date.")
@click.option(
    "--rerun-failed-tasks",
    is_flag=True,
    help="Dates whose run failed run again (--reprocess failed).",
)
@click.option("--reset-dagruns", is_flag=True, help="Dates with a run run again (--reprocess all).")
@click.option("-y", "--yes", is_flag=True, help="Accepted: Conveyor does not ask.")
@click.option("--max-active-runs", type=click.IntRange(min=1), help="Runs at once (default 4).")
@click.pass_context
def dags_backfill(
    ctx: click.Context,
    dag_id: str,
    start_date: str,
    end_date: str,
    rerun_failed_tasks: bool,
    reset_dagruns: bool,
    yes: bool,
    max_active_runs: int | None,
) -> None:
    """Airflow 2's `dags backfill DAG -s START -e END`: runs `conveyor backfill`."""
    from conveyor.cli.backfill import backfill_command

    if rerun_failed_tasks and reset_dagruns:
        raise click.UsageError("--rerun-failed-tasks and --reset-dagruns: give one")
    reprocess = "all" if reset_dagruns else "failed" if rerun_failed_tasks else "none"
    args = [dag_id, "--from", start_date, "--to", end_date, "--reprocess", reprocess]
    if max_active_runs is not None:
        args += ["--max-active", str(max_active_runs)]
    with backfill_command.make_context("conveyor backfill", args, parent=ctx) as sub:
        backfill_command.invoke(sub)
