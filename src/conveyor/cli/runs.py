"""``conveyor runs``: list runs, show one with its task instances, delete one."""

from __future__ import annotations

from datetime import datetime

import click
from rich.markup import escape

from conveyor.cli.common import (
    console,
    instance_name,
    open_store,
    parse_moment,
    seconds,
    settings,
    styled,
    sync_dags,
    when,
)
from conveyor.cli.lazy import Lazy, LazyGroup
from conveyor.cli.output import Cell, output_option, write_data, write_rows
from conveyor.exceptions import NotFoundError
from conveyor.lifecycle import FAILED_TRY
from conveyor.states import RunState
from conveyor.store import runs
from conveyor.store.engine import Connection, Store
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.store.runs import RunRow
from conveyor.web import queries, schemas


def resolve_run(conn: Connection, dag_id: str, run_id: str) -> RunRow:
    """A run by id; ``latest`` names the newest run of the DAG."""
    if run_id == "latest":
        pk = run_reads.latest_run_pk(conn, dag_id)
        if pk is None:
            raise NotFoundError(f"DAG {dag_id!r} has no runs yet")
        return runs.get_run(conn, pk)
    return runs.find_run(conn, dag_id, run_id)


def run_by_id_or_date(conn: Connection, dag_id: str, value: str) -> RunRow | None:
    """Airflow's LOGICAL_DATE_OR_RUN_ID: the run with this id, else the run at this logical
    date (UTC unless it has an offset); None when there is neither."""
    try:
        return runs.find_run(conn, dag_id, value)
    except NotFoundError:
        pass
    try:
        moment = parse_moment(value, "LOGICAL_DATE_OR_RUN_ID")
    except click.BadParameter:
        return None
    window = run_reads.Window(logical_date_gte=moment, logical_date_lte=moment)
    found = run_reads.list_runs(conn, where=run_reads.RunFilter(dag_id=dag_id, window=window))
    return runs.get_run(conn, found[0].id) if found else None


@click.group(
    "runs",
    cls=LazyGroup,
    lazy={
        "clear": Lazy(
            "conveyor.cli.manual:runs_clear",
            "Clear every task instance of a run so the run starts again.",
        ),
        "mark": Lazy(
            "conveyor.cli.manual:runs_mark",
            "Mark a run success (every task) or failed (every unfinished task).",
        ),
    },
)
def runs_group() -> None:
    """Inspect DAG runs."""


@runs_group.command("list")
@click.option("--dag", "dag_id", help="Only this DAG.")
@click.option("--state", type=click.Choice([s.value for s in RunState]))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@output_option
def list_runs(dag_id: str | None, state: str | None, limit: int, output: str) -> None:
    """The newest runs first."""
    _list_runs(dag_id, state, limit, output)


@click.command("list-runs")
@click.argument("dag", metavar="[DAG_ID]", required=False)
@click.option("-d", "--dag-id", "dag_id", help="The DAG (Airflow 2's spelling of DAG_ID).")
@click.option("--state", type=click.Choice([s.value for s in RunState]))
@click.option(
    "-s",
    "--start-date",
    callback=lambda _ctx, _param, value: parse_moment(value, "--start-date"),
    help="Only runs whose logical date is at or after this (YYYY-MM-DD or ISO 8601, UTC).",
)
@click.option(
    "-e",
    "--end-date",
    callback=lambda _ctx, _param, value: parse_moment(value, "--end-date"),
    help="Only runs whose logical date is at or before this.",
)
@click.option("--no-backfill", is_flag=True, help="Leave out backfill runs.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@output_option
def dags_list_runs(
    dag: str | None,
    dag_id: str | None,
    state: str | None,
    start_date: datetime | None,
    end_date: datetime | None,
    no_backfill: bool,
    limit: int,
    output: str,
) -> None:
    """A DAG's runs, newest first: `conveyor runs list --dag` in Airflow's spelling.

    DAG_ID as Airflow 3 takes it, or -d/--dag-id as Airflow 2 did. A DAG file the store has
    not seen yet is parsed first, as Airflow does.
    """
    if dag is not None and dag_id is not None and dag != dag_id:
        raise click.UsageError(f"two DAGs named: {dag!r} and -d {dag_id!r}; give one")
    chosen = dag or dag_id
    if chosen is None:
        raise click.UsageError("name the DAG: conveyor dags list-runs DAG_ID (or -d DAG_ID)")
    store = open_store()
    sync_dags(store)  # only changed files are parsed; an unknown DAG is then an error
    where = None
    if start_date is not None or end_date is not None:
        window = run_reads.Window(logical_date_gte=start_date, logical_date_lte=end_date)
        where = run_reads.RunFilter(dag_id=chosen, window=window)
    _list_runs(chosen, state, limit, output, store=store, where=where, no_backfill=no_backfill)


def _list_runs(
    dag_id: str | None,
    state: str | None,
    limit: int,
    output: str,
    *,
    store: Store | None = None,
    where: run_reads.RunFilter | None = None,
    no_backfill: bool = False,
) -> None:
    store = store or open_store()
    with store.read() as conn:
        # Backfill runs are left out here: the API's listing has no filter on the run type.
        asked = 10_000 if no_backfill else limit
        found = queries.list_runs(conn, dag_id, state=state, limit=asked, where=where)
    if no_backfill:
        found.runs = [r for r in found.runs if r.run_type != "backfill"][:limit]
        found.limit = limit
    if write_data(output, found):
        return
    write_rows(
        output,
        ["dag", "run id", "state", "type", "started", "ended"],
        [[r.dag_id, r.run_id, r.state, r.run_type, r.start_date, r.end_date] for r in found.runs],
        styles={"state": styled},
        empty="no runs",
    )


@runs_group.command()
@click.argument("dag_id")
@click.argument("run_id", default="latest")
@output_option
def show(dag_id: str, run_id: str, output: str) -> None:
    """A run's task instances; the errors of failed tasks at the end. RUN_ID may be 'latest'.

    With -o json or yaml: the run as the API's GET /dags/{dag}/runs/{run} returns it
    (`conveyor tasks list` gives its task instances).
    """
    store = open_store()
    with store.read() as conn:
        run = resolve_run(conn, dag_id, run_id)
        detail = queries.get_run(conn, dag_id, run.run_id)
        tis = task_reads.instances(conn, run.id)
        tries = {(t.ti_id, t.try_number): t for t in task_reads.tries(conn, [ti.id for ti in tis])}
    if write_data(output, detail):
        return
    rows: list[list[Cell]] = []
    failures = []
    for ti in tis:
        last = tries.get((ti.id, ti.try_number))
        name = instance_name(ti.task_id, ti.map_index)
        if ti.rendered_map_index:  # the instance's name from its map_index_template
            name += f" {ti.rendered_map_index}"
        rows.append(
            [
                name,
                ti.state,
                f"{ti.try_number}/{ti.max_tries}",
                ti.hostname,
                seconds(last.duration) if last and last.duration is not None else None,
            ]
        )
        if last is not None and last.error and ti.state in FAILED_TRY:
            failures.append((name, last))
    columns = ["task", "state", "try", "host", "duration"]
    if output == "plain":
        write_rows(output, columns, rows)
        return
    console.print(
        f"[bold]{escape(run.dag_id)}[/] run [bold]{escape(run.run_id)}[/]: "
        f"{styled(run.state.value)}" + (f" ({escape(detail.note)})" if detail.note else "")
    )
    console.print(
        f"data interval {when(run.data_interval_start)} -> "
        f"{when(run.data_interval_end)}; conf {run.conf or {}}",
        markup=False,
    )
    write_rows(output, columns, rows, styles={"state": styled})
    for deadline in detail.deadlines:
        console.print(deadline_line(deadline), markup=False)
    for task_id, last in failures:
        console.print(f"\n[bold red]{escape(task_id)}[/] try {last.try_number} ({last.exit_kind}):")
        console.print((last.error or "").rstrip(), markup=False)
        console.print(
            f"log: {last.log_path}  (conveyor tasks logs {dag_id} {run.run_id} {task_id})",
            style="dim",
            markup=False,
        )


def deadline_line(deadline: schemas.RunDeadline) -> str:
    """One deadline alert of a run: when, what became of it, and its callback's outcome."""
    name = f" {deadline.name!r}" if deadline.name else ""
    line = (
        f"deadline{name} ({deadline.reference}) at {when(deadline.deadline_at)}: {deadline.state}"
    )
    if deadline.callback_state is not None:
        line += f"; callback {deadline.callback_state}"
    if deadline.callback_error:
        line += f": {deadline.callback_error}"
    return line


@runs_group.command()
@click.argument("dag_id")
@click.argument("run_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(dag_id: str, run_id: str, yes: bool) -> None:
    """Delete a finished run with its task instances, tries, timeline, XComs and logs.

    A queued or running run is refused: mark its task instances failed first.
    """
    config = settings()
    store = open_store(config)
    if not yes:
        click.confirm(
            f"Delete run {run_id!r} of DAG {dag_id!r} and everything it recorded?", abort=True
        )
    from conveyor.store import run_deletion  # the writers: not loaded by the reads

    with store.write() as conn:
        gone = run_deletion.delete_run(conn, dag_id, run_id)
    from conveyor.logs import delete_try_logs

    local, remote = delete_try_logs(config, gone.log_paths)  # after the commit
    counts = gone.deleted
    console.print(
        f"deleted run {escape(run_id)} of {escape(dag_id)}: {counts.task_instances} task "
        f"instances, {counts.tries} tries, {counts.events} timeline events, {counts.xcoms} "
        f"XComs, {local + remote} log files"
    )
