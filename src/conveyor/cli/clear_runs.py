"""``conveyor tasks clear`` over many runs: Airflow's ``tasks clear DAG -t REGEX -s -e``.

Airflow's command names no run: it clears the chosen tasks in every run of the DAG whose
logical date lies between ``--start-date`` and ``--end-date`` (both optional, inclusive).
Each run is cleared through the same use case as one run (``conveyor.engine.manual``), in a
transaction of its own, after the whole list was shown and confirmed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import click
from rich.markup import escape

from conveyor.cli.common import CliError, console, err_console, open_store, styled
from conveyor.cli.runs import resolve_run
from conveyor.engine import manual
from conveyor.lifecycle import Actor
from conveyor.states import TaskState
from conveyor.store import runs
from conveyor.store.engine import Connection
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import runs as run_reads
from conveyor.store.runs import RunRow

#: Runs one command clears at most: a date range wider than this is refused, not cut.
MAX_RUNS = 10_000


@dataclass(frozen=True)
class Reach:
    """Which tasks of each run, and which of their instances, a clear resets."""

    task_ids: Sequence[str] | None  # None: every task
    task_regex: re.Pattern[str] | None
    upstream: bool
    downstream: bool
    only_failed: bool
    only_running: bool


@dataclass(frozen=True)
class RunPlan:
    run: RunRow
    task_ids: list[str] | None
    plan: manual.ClearPlan


def task_regex(text: str | None) -> re.Pattern[str] | None:
    if text is None:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise click.BadParameter(f"{text!r} is not a regular expression: {exc}") from None


def chosen_runs(
    conn: Connection,
    dag_id: str,
    run_id: str | None,
    start: datetime | None,
    end: datetime | None,
) -> list[RunRow]:
    """The named run, or every run of the DAG with a logical date in [start, end]."""
    if run_id is not None:
        return [resolve_run(conn, dag_id, run_id)]
    dag_reads.get_dag(conn, dag_id)  # an unknown DAG is an error, not "nothing to clear"
    window = run_reads.Window(logical_date_gte=start, logical_date_lte=end)
    listed = run_reads.list_runs(
        conn,
        where=run_reads.RunFilter(dag_id=dag_id, window=window),
        limit=MAX_RUNS + 1,
        order="logical_date",
    )
    if len(listed) > MAX_RUNS:
        raise CliError(f"more than {MAX_RUNS} runs of {dag_id} between the dates: narrow -s/-e")
    return [runs.get_run(conn, r.id) for r in listed]


def _plan(conn: Connection, run: RunRow, reach: Reach) -> RunPlan | None:
    task_ids: list[str] | None = list(reach.task_ids) if reach.task_ids else None
    if reach.task_regex is not None:
        present = dict.fromkeys(ti.task_id for ti in runs.task_instances(conn, run.id))
        matched = [t for t in present if reach.task_regex.search(t)]
        task_ids = [t for t in task_ids if t in matched] if task_ids else matched
        if not task_ids:
            return None
    plan = manual.plan_clear(
        conn,
        run,
        task_ids,
        upstream=reach.upstream,
        downstream=reach.downstream,
        only_failed=reach.only_failed,
    )
    if reach.only_running:  # Airflow's -r: of those, the running ones alone
        keep = [ti for ti in plan.targets if ti.state is TaskState.RUNNING]
        plan = manual.ClearPlan(keep, [ti for ti in plan.in_flight if ti in keep])
    return RunPlan(run, task_ids, plan) if plan.targets else None


def clear_runs(
    dag_id: str,
    run_id: str | None,
    start: datetime | None,
    end: datetime | None,
    reach: Reach,
    actor: Actor,
    *,
    yes: bool,
) -> None:
    """List what the clear resets in each run, ask, then clear run by run."""
    store = open_store()
    with store.read() as conn:
        plans = [
            p for r in chosen_runs(conn, dag_id, run_id, start, end) if (p := _plan(conn, r, reach))
        ]
    if not plans:
        where = f"run {run_id}" if run_id else "the runs chosen"
        console.print(f"nothing to clear in {escape(where)} of {escape(dag_id)}")
        return
    if not yes:
        _show(dag_id, plans)
        click.confirm("Clear these task instances?", abort=True)
    for item in plans:
        with store.write() as conn:
            result = _clear_one(conn, dag_id, item, reach, actor)
        done = ", ".join(result.changed) if result.changed else "nothing"
        console.print(
            f"run {escape(item.run.run_id)}: cleared {escape(done)}; "
            f"run is {styled(result.run_state.value)}"
        )
        if result.stopped:
            console.print(
                f"  stopping (was queued or running): {escape(', '.join(result.stopped))}"
            )


def _clear_one(
    conn: Connection, dag_id: str, item: RunPlan, reach: Reach, actor: Actor
) -> manual.ManualResult:
    if not reach.only_running:
        return manual.clear_tasks(
            conn,
            dag_id,
            item.run.run_id,
            item.task_ids,
            actor,
            upstream=reach.upstream,
            downstream=reach.downstream,
            only_failed=reach.only_failed,
        )
    changed: list[str] = []
    stopped: list[str] = []
    state = item.run.state
    for ti in item.plan.targets:  # the running instances alone, each by its map index
        one = manual.clear_tasks(
            conn,
            dag_id,
            item.run.run_id,
            [ti.task_id],
            actor,
            map_index=ti.map_index if ti.map_index >= 0 else None,
        )
        changed += [t for t in one.changed if t not in changed]
        stopped += [t for t in one.stopped if t not in stopped]
        state = one.run_state
    return manual.ManualResult(changed, stopped, state)


def _show(dag_id: str, plans: list[RunPlan]) -> None:
    count = sum(len(p.plan.targets) for p in plans)
    console.print(f"{escape(dag_id)}: will clear {count} task instance(s) in {len(plans)} run(s)")
    for item in plans:
        console.print(f"run {escape(item.run.run_id)}")
        stopping = {ti.id for ti in item.plan.in_flight}
        for ti in item.plan.targets:
            index = f"[{ti.map_index}]" if ti.map_index >= 0 else ""
            how = " (its try is stopped)" if ti.id in stopping else ""
            console.print(f"  {escape(ti.task_id + index)}  {styled(ti.state.value)}{how}")


def warn_ignored(exclude_subdags: bool, exclude_parentdag: bool) -> None:
    """Airflow 2's SubDAG flags: Conveyor has no SubDAGs, so they change nothing; say so."""
    for given, flag in (
        (exclude_subdags, "-x/--exclude-subdags"),
        (exclude_parentdag, "-X/--exclude-parentdag"),
    ):
        if given:
            err_console.print(
                f"[yellow]note:[/] {flag} ignored: Conveyor has no SubDAGs, "
                "so there is nothing to exclude"
            )
