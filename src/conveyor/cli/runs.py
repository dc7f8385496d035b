"""``conveyor runs``: list runs, show one with its task instances, delete one."""

from __future__ import annotations

import click
from rich.markup import escape

from conveyor.cli.common import (
    console,
    open_store,
    seconds,
    settings,
    styled,
    when,
)
from conveyor.cli.lazy import Lazy, LazyGroup
from conveyor.cli.output import Cell, output_option, write_data, write_rows
from conveyor.exceptions import NotFoundError
from conveyor.logs import delete_try_logs
from conveyor.states import RunState
from conveyor.store import run_deletion, runs
from conveyor.store.engine import Connection
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.store.runs import RunRow
from conveyor.web import queries


def resolve_run(conn: Connection, dag_id: str, run_id: str) -> RunRow:
    """A run by id; ``latest`` names the newest run of the DAG."""
    if run_id == "latest":
        pk = run_reads.latest_run_pk(conn, dag_id)
        if pk is None:
            raise NotFoundError(f"DAG {dag_id!r} has no runs yet")
        return runs.get_run(conn, pk)
    return runs.find_run(conn, dag_id, run_id)


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
@click.option("-d", "--dag-id", "dag_id", required=True, help="The DAG.")
@click.option("--state", type=click.Choice([s.value for s in RunState]))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@output_option
def dags_list_runs(dag_id: str, state: str | None, limit: int, output: str) -> None:
    """A DAG's runs, newest first: `conveyor runs list --dag` in Airflow's spelling."""
    _list_runs(dag_id, state, limit, output)


def _list_runs(dag_id: str | None, state: str | None, limit: int, output: str) -> None:
    store = open_store()
    with store.read() as conn:
        found = queries.list_runs(conn, dag_id, state=state, limit=limit)
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
        name = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
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
        if last is not None and last.error and ti.state in ("failed", "up_for_retry"):
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
    for task_id, last in failures:
        console.print(f"\n[bold red]{escape(task_id)}[/] try {last.try_number} ({last.exit_kind}):")
        console.print((last.error or "").rstrip(), markup=False)
        console.print(
            f"log: {last.log_path}  (conveyor tasks logs {dag_id} {run.run_id} {task_id})",
            style="dim",
            markup=False,
        )


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
    with store.write() as conn:
        gone = run_deletion.delete_run(conn, dag_id, run_id)
    local, remote = delete_try_logs(config, gone.log_paths)  # after the commit
    counts = gone.deleted
    console.print(
        f"deleted run {escape(run_id)} of {escape(dag_id)}: {counts.task_instances} task "
        f"instances, {counts.tries} tries, {counts.events} timeline events, {counts.xcoms} "
        f"XComs, {local + remote} log files"
    )
