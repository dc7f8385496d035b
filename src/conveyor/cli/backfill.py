"""``conveyor backfill``: run a DAG's schedule over a past date range, with a progress bar.

If a scheduler is running against the store, the runs are handed to it and this command
only feeds and watches them; otherwise it runs a scheduler in this process for as long as
the backfill lasts (as ``conveyor standalone`` does). Ctrl-C stops feeding (tries already
running get the kill grace period); running the same command again resumes.
"""

from __future__ import annotations

import signal
import sys
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from conveyor.backfill import REPROCESS, Backfill
from conveyor.cli.common import console, open_store, settings, styled, sync_dags
from conveyor.config import Settings
from conveyor.states import RunState
from conveyor.store import liveness
from conveyor.store.engine import Store

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"]


@click.command("backfill")
@click.argument("dag_id")
@click.option("--from", "start", required=True, type=click.DateTime(DATE_FORMATS))
@click.option("--to", "end", required=True, type=click.DateTime(DATE_FORMATS))
@click.option(
    "--reprocess",
    type=click.Choice(REPROCESS),
    default="none",
    show_default=True,
    help="What to do with dates that already have a run.",
)
@click.option("--max-active", default=4, show_default=True, help="Backfill runs at once.")
def backfill_command(
    dag_id: str, start: datetime, end: datetime, reprocess: str, max_active: int
) -> None:
    """Create and run the runs of DAG_ID's schedule from --from to --to (logical dates,
    in the DAG's time zone unless given with an offset)."""
    config = settings()
    store = open_store(config)
    sync_dags(store, config)
    with store.read() as conn:
        from conveyor.store import runs

        zone = ZoneInfo(runs.latest_version(conn, dag_id)[1].raw["timezone"])
    job = Backfill(
        store,
        dag_id,
        start.replace(tzinfo=zone),
        end.replace(tzinfo=zone),
        reprocess=reprocess,
        max_active=max_active,
    )
    total = len(job.items)
    kept = sum(1 for i in job.items if i.action == "keep")
    console.print(
        f"backfill {dag_id}: {total} runs from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
        f" ({kept} exist already and are kept), {max_active} at a time"
    )
    interrupted = _drive(config, store, job)
    counts = job.progress()
    summary = ", ".join(f"{styled(k)} {v}" for k, v in sorted(counts.items()))
    if interrupted:
        console.print(f"interrupted: {summary}. Run the same command again to resume.")
        sys.exit(130)
    console.print(f"backfill {dag_id} done: {summary}")
    if counts.get(RunState.FAILED.value):
        sys.exit(1)


def _drive(config: Settings, store: Store, job: Backfill) -> bool:
    """Feed and watch the runs until they all ended; True if interrupted by Ctrl-C."""
    reported: set[int] = set()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(job.dag_id, total=len(job.items), detail="")

        def tick() -> bool:
            job.feed()
            # Whether all ended, asked before the counts are read: the bar's last state then
            # always shows every run that made the backfill done.
            done = job.done()
            counts = job.progress()
            states = job.states()
            for item in job.items:
                state = states.get(item.run_pk) if item.run_pk is not None else None
                if (
                    item.run_pk is not None
                    and item.run_pk not in reported
                    and state
                    in (
                        RunState.SUCCESS,
                        RunState.FAILED,
                    )
                ):
                    reported.add(item.run_pk)
                    when = item.info.logical_date.isoformat(timespec="seconds")
                    bar.console.print(f"  {when}  {styled(state.value)}")
            finished = counts.get("success", 0) + counts.get("failed", 0)
            detail = " ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            bar.update(task, completed=finished, detail=detail)
            return done

        with store.read() as conn:
            scheduler_running = liveness.any_live_scheduler(
                conn, liveness.stale_after(config.heartbeat_seconds)
            )
        if scheduler_running:
            bar.console.print("a scheduler is running: handing the runs to it")
            try:
                while not tick():
                    time.sleep(0.5)
            except KeyboardInterrupt:
                return True
            return False
        return _in_process(config, store, tick)


def _in_process(config: Settings, store: Store, tick: Any) -> bool:
    from conveyor.cli.serve import scheduler_of

    scheduler = scheduler_of(config, store)
    stopped = {"by_signal": False}

    def on_signal(*_: Any) -> None:
        stopped["by_signal"] = True
        scheduler.request_stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if tick():
        return False
    scheduler.run(until=tick)
    return stopped["by_signal"]
