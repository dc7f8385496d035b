"""``conveyor backfill``: run a DAG's schedule over a past date range, with a progress bar;
``conveyor backfill list|pause|unpause|cancel``: the backfills recorded and a person's
actions on them.

The backfill is recorded and its runs made at once, queued (``conveyor.backfill``); the
scheduler starts them ``--max-active`` at a time. If a scheduler is running against the
store, this command only watches them; otherwise it runs a scheduler in this process for as
long as the backfill lasts (as ``conveyor standalone`` does). Ctrl-C stops that scheduler
(tries already running get the kill grace period); running the same command again resumes.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from conveyor.backfill import REPROCESS, Backfill, BackfillRunningError
from conveyor.cli.audit_trail import cli_actor
from conveyor.cli.common import console, open_store, settings, styled, sync_dags
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.config import Settings
from conveyor.exceptions import NotFoundError
from conveyor.lifecycle import Actor
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store import liveness
from conveyor.store.backfills import BackfillCompletedError, BackfillRow
from conveyor.store.engine import Connection, Store

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"]


class _BackfillCommand(click.Command):
    """``conveyor backfill DAG_ID --from --to``, which also takes Airflow 3's spelling,
    ``backfill create --dag-id --from-date --to-date``, by translating it first."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """``backfill list|pause|unpause|cancel ...`` is that verb's own command: its context
        names it, and the group that invoked ``backfill`` runs it."""
        found = self.sub_verb(args)
        if found is not None:
            name, command, rest = found
            return command.make_context(f"{info_name} {name}", rest, parent=parent, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)

    def sub_verb(self, args: list[str]) -> tuple[str, click.Command, list[str]] | None:
        """The verb (of :data:`VERBS`) that ``args`` name first, if any. The audit log
        resolves it through this too (``audit_trail.resolve``)."""
        if args[:1] and args[0] in VERBS:
            return args[0], VERBS[args[0]], list(args[1:])
        return None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self.translate(args))

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_usage(ctx, formatter)
        formatter.write_text(
            "   or: conveyor backfill list [--dag-id D] | pause ID | unpause ID | cancel ID"
        )

    def translate(self, args: list[str], *, resilient: bool = False) -> list[str]:
        """Airflow 3's ``create ...`` as Conveyor's own arguments; other arguments as given.
        The audit log reads the verb through this too (``audit_trail.resolve``)."""
        if args[:1] != ["create"]:
            return args
        sub = airflow_create.make_context(
            "conveyor backfill create", list(args[1:]), resilient_parsing=resilient
        )
        given = sub.params
        unsupported = {
            "dag_run_conf": "--dag-run-conf (a backfill's runs take their params' defaults)",
            "run_backwards": "--run-backwards (runs are made oldest first)",
            "dry_run": "--dry-run",
            "run_on_latest_version": "--run-on-latest-version (runs use the DAG's latest version)",
        }
        for name, what in unsupported.items():
            if given.get(name):
                raise click.UsageError(
                    f"{what} is not supported by Conveyor's backfill; leave it out "
                    "(conveyor backfill DAG_ID --from ... --to ... --reprocess ... --max-active N)"
                )
        found = [
            given["dag_id"],
            "--from",
            given["from_date"].strftime("%Y-%m-%dT%H:%M:%S"),
            "--to",
            given["to_date"].strftime("%Y-%m-%dT%H:%M:%S"),
        ]
        if given.get("reprocess_behavior"):
            found += ["--reprocess", AIRFLOW_REPROCESS[given["reprocess_behavior"]]]
        if given.get("max_active_runs"):
            found += ["--max-active", str(given["max_active_runs"])]
        return found


#: Airflow's ``--reprocess-behavior`` as Conveyor's ``--reprocess``: "completed" runs again
#: every date that has a finished run, as "all" does.
AIRFLOW_REPROCESS = {"none": "none", "failed": "failed", "completed": "all"}


@click.command("create")
@click.option("--dag-id", required=True, help="The DAG to backfill.")
@click.option("--from-date", required=True, type=click.DateTime(DATE_FORMATS))
@click.option("--to-date", required=True, type=click.DateTime(DATE_FORMATS))
@click.option("--reprocess-behavior", type=click.Choice(list(AIRFLOW_REPROCESS)))
@click.option("--max-active-runs", type=click.IntRange(min=1))
@click.option("--dag-run-conf")
@click.option("--run-backwards", is_flag=True)
@click.option("--dry-run", is_flag=True)
@click.option("--run-on-latest-version/--no-run-on-latest-version", default=None)
def airflow_create(**_: Any) -> None:
    """Airflow 3's `backfill create`: only parsed, then run as `conveyor backfill`."""


@click.command("backfill", cls=_BackfillCommand)
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
    in the DAG's time zone unless given with an offset).

    Airflow 3's `backfill create --dag-id D --from-date A --to-date B
    [--reprocess-behavior none|failed|completed] [--max-active-runs N]` works too.
    """
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
        triggering_user=cli_actor(),
    )
    try:
        backfill_id = job.create()
    except BackfillRunningError as exc:
        raise click.ClickException(str(exc)) from None
    total = len(job.items)
    kept = sum(1 for i in job.items if i.action == "keep")
    console.print(
        f"backfill {dag_id}: {total} runs from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
        f" ({kept} exist already and are kept), {max_active} at a time (backfill {backfill_id})"
    )
    interrupted = _drive(config, store, job)
    counts = job.progress()
    summary = ", ".join(f"{styled(k)} {v}" for k, v in sorted(counts.items()))
    if interrupted:
        console.print(
            f"interrupted: {summary}. Run the same command again to resume "
            f"(or conveyor backfill cancel {backfill_id})."
        )
        sys.exit(130)
    job.complete_if_ended()
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
                    and state in RUN_FINISHED
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


# -- the backfills recorded, and a person's actions on them ---------------------------------


@click.command("list")
@click.option("--dag-id", help="Only this DAG's backfills.")
@output_option
def backfill_list(dag_id: str | None, output: str) -> None:
    """The backfills, newest first: range, pace, pause, runs by state, completion."""
    from conveyor.web import queries

    with open_store().read() as conn:
        found = queries.list_backfills(conn, dag_id)
    if write_data(output, found):
        return
    write_rows(
        output,
        [
            *("id", "dag_id", "from", "to", "max_active_runs", "paused", "runs"),
            *("created_at", "completed_at", "by"),
        ],
        [
            [
                b.id,
                b.dag_id,
                b.from_date,
                b.to_date,
                b.max_active_runs,
                b.is_paused,
                " ".join(f"{k} {v}" for k, v in sorted(b.runs.items())),
                b.created_at,
                b.completed_at,
                b.triggering_user_name,
            ]
            for b in found.backfills
        ],
    )


def _act(backfill_id: int, action: Callable[[Connection, int], BackfillRow], done: str) -> None:
    """Run ``action`` on the backfill in one transaction; errors as the CLI shows them."""
    try:
        with open_store().write() as conn:
            found = action(conn, backfill_id)
    except NotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    except BackfillCompletedError as exc:
        raise click.ClickException(str(exc)) from None
    console.print(f"backfill {found.id} of {found.dag_id} {done}")


@click.command("pause")
@click.argument("backfill_id", type=int)
def backfill_pause(backfill_id: int) -> None:
    """Pause a backfill: its queued runs wait, its running runs go on."""
    from conveyor import backfill

    _act(backfill_id, backfill.pause, "paused")


@click.command("unpause")
@click.argument("backfill_id", type=int)
def backfill_unpause(backfill_id: int) -> None:
    """Unpause a backfill: its queued runs start again, max_active_runs at a time."""
    from conveyor import backfill

    _act(backfill_id, backfill.unpause, "unpaused")


@click.command("cancel")
@click.argument("backfill_id", type=int)
def backfill_cancel(backfill_id: int) -> None:
    """Cancel a backfill: its runs not started fail, its running runs go on, it completes."""
    from conveyor import backfill

    actor = Actor(f"user:{cli_actor()}")
    _act(backfill_id, lambda conn, i: backfill.cancel(conn, i, actor), "cancelled")


#: ``conveyor backfill VERB ...``: the verbs besides creating one.
VERBS: dict[str, click.Command] = {
    "list": backfill_list,
    "pause": backfill_pause,
    "unpause": backfill_unpause,
    "cancel": backfill_cancel,
}
