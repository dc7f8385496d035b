"""``conveyor workers``, ``schedulers``, ``triggerers`` and ``flower``: the cluster as the store
sees it, and Celery's monitor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from conveyor.cli.common import open_store, settings, when
from conveyor.cli.output import Cell, output_option, write_data, write_rows
from conveyor.store.engine import Connection
from conveyor.web import queries
from conveyor.web.schemas import SchedulerInfo, TriggererInfo

Process = SchedulerInfo | TriggererInfo
T = TypeVar("T")


def _ago(now: datetime, at: datetime) -> str:
    return f"{when(at)} ({(now - at).total_seconds():.0f}s ago)"


def _cluster(read: Callable[[Connection, float], T]) -> T:
    """``read`` of the store's processes, each alive by the configured heartbeat."""
    config = settings()
    with open_store(config).read() as conn:
        return read(conn, config.heartbeat_seconds)


def _liveness(text: str) -> str:
    colour = {"alive": "green", "stopped": "dim", "lost": "red"}.get(text.split()[0], "white")
    return f"[{colour}]{text}[/]"


@click.command("workers")
@output_option
def workers_command(output: str) -> None:
    """Workers seen by the store: queues, what they run, their last heartbeat."""
    found = _cluster(queries.list_workers)
    if write_data(output, found):
        return
    now = datetime.now(UTC)
    write_rows(
        output,
        ["worker", "state", "queues", "running", "concurrency", "last heartbeat"],
        [
            [
                w.hostname,
                "alive" if w.alive else ("stopped" if w.stopped_at else "lost"),
                ",".join(w.queues),
                w.running,
                w.concurrency,
                _ago(now, w.heartbeat_at) if output == "table" else w.heartbeat_at,
            ]
            for w in found.workers
        ],
        styles={"state": _liveness},
        empty="no workers have reported yet (start one with `conveyor worker`)",
    )


@click.command("schedulers")
@output_option
def schedulers_command(output: str) -> None:
    """Schedulers seen by the store: host, process, last heartbeat, and which are alive."""
    found = _cluster(queries.list_schedulers)
    if write_data(output, found):
        return
    _write_processes(
        output,
        "scheduler",
        found.schedulers,
        {},
        lost="its work goes on elsewhere",
        empty="no scheduler has run against this store yet (start `conveyor scheduler`)",
    )


@click.command("triggerers")
@output_option
def triggerers_command(output: str) -> None:
    """Triggerers seen by the store: host, process, triggers run, and which are alive."""
    found = _cluster(queries.list_triggerers)
    if write_data(output, found):
        return
    _write_processes(
        output,
        "triggerer",
        found.triggerers,
        {"triggers": lambda t: f"{t.running}/{t.capacity}"},
        lost="its triggers go to another",
        empty="no triggerer has run against this store yet (start `conveyor triggerer`)",
    )


def _write_processes(
    output: str,
    kind: str,
    found: Sequence[Process],
    extra: dict[str, Callable[[Any], Cell]],
    *,
    lost: str,
    empty: str,
) -> None:
    """Schedulers or triggerers, the live first, then the stopped, each oldest first: who has
    been in charge longest. ``extra``: columns of their own, after the state."""
    ordered = sorted(found, key=lambda p: (p.stopped_at is not None, p.started_at))
    now = datetime.now(UTC)
    gone = f"lost (no heartbeat; {lost})" if output == "table" else "lost"
    write_rows(
        output,
        [kind, "host", "pid", "state", *extra, "started", "last heartbeat"],
        [
            [
                p.id,
                p.hostname,
                p.pid,
                "stopped" if p.stopped_at else ("alive" if p.alive else gone),
                *(cell(p) for cell in extra.values()),
                p.started_at,
                _ago(now, p.heartbeat_at) if output == "table" else p.heartbeat_at,
            ]
            for p in ordered
        ],
        styles={"state": _liveness},
        empty=empty,
    )


@click.command("flower", context_settings={"ignore_unknown_options": True})
@click.argument("flower_args", nargs=-1, type=click.UNPROCESSED)
def flower_command(flower_args: tuple[str, ...]) -> None:
    """Start Celery's Flower monitor on Conveyor's broker (extra arguments go to Flower)."""
    import flower  # noqa: F401  # the top-level handler names the extra when it is missing

    from conveyor.executors.celery_app import make_app

    app = make_app(settings())
    app.start(["flower", *flower_args])
