"""``conveyor dags`` verbs under Airflow's names: state, delete, details, report,
list-import-errors and Airflow 2's backfill (``next-execution``, which reads the schedule,
is ``next_execution.py``).

Each prints what Airflow's command prints for the same question (``dags state`` a run's
state and its conf), so scripts written for Airflow read the same answers.
"""

from __future__ import annotations

import json
from typing import Any

import click

from conveyor.cli.common import CliError, console, open_store, settings, sync_dags
from conveyor.cli.output import Cell, output_option, write_data, write_rows
from conveyor.cli.runs import run_by_id_or_date
from conveyor.states import RUN_FINISHED
from conveyor.store import runs
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
