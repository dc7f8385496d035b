"""``conveyor tasks clear|mark`` and ``conveyor runs clear|mark``: a run changed by hand.

Each command calls the use case the web API's clear and mark actions call
(``conveyor.engine.manual``), so the same rules hold: queued and running task instances are
left to their process, and a finished run goes back to the scheduler.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from datetime import datetime
from typing import get_args

import click
from rich.markup import escape

from conveyor.cli import clear_runs
from conveyor.cli.common import console, open_store, parse_moment, settings, styled
from conveyor.cli.runs import resolve_run
from conveyor.engine import manual, run_listeners
from conveyor.lifecycle import Actor
from conveyor.states import MarkStateName, TaskState
from conveyor.store.engine import Store

_STATE = click.Choice(get_args(MarkStateName))


def _actor() -> Actor:
    """The timeline names the account that ran the command."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        name = "unknown"
    return Actor(f"cli:{name}")


def _store_for_marks() -> Store:
    """The store, with the plugins' listeners and OpenLineage told of the marks committed
    through it (Airflow's API server tells them; here the command does)."""
    store = open_store()
    run_listeners.start_for_marks(settings(), store)
    return store


def _report(result: manual.ManualResult, verb: str) -> None:
    done = ", ".join(result.changed) if result.changed else "nothing"
    console.print(f"{verb}: {escape(done)}; run is {styled(result.run_state.value)}")
    if result.stopped:
        console.print(
            f"stopping (was queued or running): {escape(', '.join(result.stopped))}; a running "
            "try's process gets SIGTERM (its on_kill runs), SIGKILL after kill_grace_seconds"
        )


def _clear(
    dag_id: str,
    run_id: str,
    task_ids: Sequence[str] | None,
    *,
    only_failed: bool,
    yes: bool,
    upstream: bool = False,
    downstream: bool = False,
) -> None:
    """List what a clear resets, ask, then clear exactly through the use case."""
    store = open_store()
    with store.read() as conn:
        run = resolve_run(conn, dag_id, run_id)
        plan = manual.plan_clear(
            conn, run, task_ids, upstream=upstream, downstream=downstream, only_failed=only_failed
        )
    if not plan.targets:
        console.print(f"nothing to clear in run {escape(run.run_id)} of {escape(dag_id)}")
        return
    if not yes:
        console.print(f"run {escape(run.run_id)} of {escape(dag_id)}: will clear")
        stopping = {ti.id for ti in plan.in_flight}
        for ti in plan.targets:
            index = f"[{ti.map_index}]" if ti.map_index >= 0 else ""
            how = " (its try is stopped)" if ti.id in stopping else ""
            console.print(f"  {escape(ti.task_id + index)}  {styled(ti.state.value)}{how}")
        click.confirm("Clear these task instances?", abort=True)
    with store.write() as conn:
        result = manual.clear_tasks(
            conn,
            dag_id,
            run.run_id,
            task_ids,
            _actor(),
            upstream=upstream,
            downstream=downstream,
            only_failed=only_failed,
        )
    _report(result, "cleared")


@click.command("clear")
@click.argument("dag_id")
@click.argument("run_id", required=False)
@click.argument("task_ids", nargs=-1)
@click.option(
    "-t", "--task-regex", help="The tasks whose id this regular expression matches (searched)."
)
@click.option(
    "-s",
    "--start-date",
    callback=lambda _ctx, _param, value: parse_moment(value, "--start-date"),
    help="No RUN_ID: runs with a logical date at or after this (YYYY-MM-DD or ISO, UTC).",
)
@click.option(
    "-e",
    "--end-date",
    callback=lambda _ctx, _param, value: parse_moment(value, "--end-date"),
    help="No RUN_ID: runs with a logical date at or before this.",
)
@click.option("-u", "--upstream", is_flag=True, help="Also the tasks upstream of these.")
@click.option("-d", "--downstream", is_flag=True, help="Also the tasks downstream of these.")
@click.option("-f", "--only-failed", is_flag=True, help="Only failed and upstream_failed ones.")
@click.option("-r", "--only-running", is_flag=True, help="Only running ones.")
@click.option("-y", "--yes", is_flag=True, help="Do not list and ask first.")
@click.option("-x", "--exclude-subdags", is_flag=True, help="Airflow 2's; ignored (no SubDAGs).")
@click.option("-X", "--exclude-parentdag", is_flag=True, help="Airflow 2's; ignored (no SubDAGs).")
@click.option(
    "-R", "--dag-regex", is_flag=True, help="Airflow's; refused: name one DAG per command."
)
def tasks_clear(
    dag_id: str,
    run_id: str | None,
    task_ids: tuple[str, ...],
    task_regex: str | None,
    start_date: datetime | None,
    end_date: datetime | None,
    upstream: bool,
    downstream: bool,
    only_failed: bool,
    only_running: bool,
    yes: bool,
    exclude_subdags: bool,
    exclude_parentdag: bool,
    dag_regex: bool,
) -> None:
    """Clear task instances of a run so they run again (Airflow: tasks clear).

    With RUN_ID (or 'latest'): that run, its TASK_IDS (none: every task). Without, as
    Airflow's: every run of the DAG whose logical date is within -s/-e (both optional).
    -t REGEX chooses tasks by id in either form.
    """
    if dag_regex:
        raise click.UsageError(
            "-R/--dag-regex: name one DAG; to clear several, run `conveyor tasks clear` for "
            "each (`conveyor dags list -o plain | cut -f1` lists them)"
        )
    if run_id is not None and (start_date or end_date):
        raise click.UsageError(
            f"-s/-e choose runs by date, and RUN_ID {run_id!r} names one: give one or the other"
        )
    clear_runs.warn_ignored(exclude_subdags, exclude_parentdag)
    reach = clear_runs.Reach(
        task_ids=list(task_ids) or None,
        task_regex=clear_runs.task_regex(task_regex),
        upstream=upstream,
        downstream=downstream,
        only_failed=only_failed,
        only_running=only_running,
    )
    if run_id is not None and task_regex is None and not only_running:
        _clear(
            dag_id,
            run_id,
            reach.task_ids,
            upstream=upstream,
            downstream=downstream,
            only_failed=only_failed,
            yes=yes,
        )
        return
    clear_runs.clear_runs(dag_id, run_id, start_date, end_date, reach, _actor(), yes=yes)


@click.command("mark")
@click.argument("dag_id")
@click.argument("run_id")
@click.argument("task_id")
@click.option("--state", "state", type=_STATE, required=True)
def tasks_mark(dag_id: str, run_id: str, task_id: str, state: str) -> None:
    """Mark a task instance success or failed (all instances of a mapped task).

    RUN_ID may be 'latest'.
    """
    store = _store_for_marks()
    with store.write() as conn:
        run = resolve_run(conn, dag_id, run_id)
        result = manual.mark(conn, dag_id, run.run_id, task_id, TaskState(state), _actor())
    _report(result, f"marked {state}")


@click.command("clear")
@click.argument("dag_id")
@click.argument("run_id")
@click.option("-f", "--only-failed", is_flag=True, help="Only failed and upstream_failed ones.")
@click.option("-y", "--yes", is_flag=True, help="Do not list and ask first.")
def runs_clear(dag_id: str, run_id: str, only_failed: bool, yes: bool) -> None:
    """Clear every task instance of a run so the run starts again. RUN_ID may be 'latest'."""
    _clear(dag_id, run_id, None, only_failed=only_failed, yes=yes)


@click.command("mark")
@click.argument("dag_id")
@click.argument("run_id")
@click.option("--state", "state", type=_STATE, required=True)
def runs_mark(dag_id: str, run_id: str, state: str) -> None:
    """Mark a run success (every task) or failed (every unfinished task).

    RUN_ID may be 'latest'. The run moves to that state at once, its start and end kept.
    """
    store = _store_for_marks()
    with store.write() as conn:
        run = resolve_run(conn, dag_id, run_id)
        result = manual.mark_run(conn, dag_id, run.run_id, TaskState(state), _actor())
    _report(result, f"marked {state}")
