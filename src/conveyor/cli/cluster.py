"""``conveyor worker``, ``conveyor workers`` and ``conveyor flower``: cluster mode on Celery."""

from __future__ import annotations

import socket
from datetime import timedelta

import click
from rich.table import Table
from sqlalchemy import select

from conveyor.cli.common import CliError, console, open_store, settings, translate_errors, when
from conveyor.store.tables import scheduler, utcnow, worker


@click.command("worker")
@click.option(
    "-q",
    "--queues",
    default="default",
    show_default=True,
    help="Comma-separated queues to take tries from.",
)
@click.option("-c", "--concurrency", type=int, help="Tries at once (default: parallelism).")
@click.option("-n", "--hostname", help="Node name (default: conveyor@<host>).")
@translate_errors
def worker_command(queues: str, concurrency: int | None, hostname: str | None) -> None:
    """Run tries from the broker on this machine until SIGTERM (Celery prefork pool)."""
    from conveyor.metrics import serve_process_metrics
    from conveyor.worker.celery_app import make_app

    config = settings()
    open_store(config)  # fail early, with the reason, if the store is unreachable or stale
    names = [q.strip() for q in queues.split(",") if q.strip()]
    if not names:
        raise CliError("--queues needs at least one queue name")
    app = make_app(config)
    serve_process_metrics(config)  # on metrics_port, when set
    app.worker_main(
        [
            "worker",
            "--queues",
            ",".join(names),
            "--concurrency",
            str(concurrency or config.parallelism),
            "--hostname",
            hostname or f"conveyor@{socket.gethostname()}",
            "--pool",
            "prefork",
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
        ]
    )


@click.command("workers")
@translate_errors
def workers_command() -> None:
    """Workers seen by the store: queues, what they run, their last heartbeat."""
    config = settings()
    store = open_store(config)
    with store.read() as conn:
        rows = conn.execute(select(worker).order_by(worker.c.hostname)).all()
    if not rows:
        console.print("no workers have reported yet (start one with `conveyor worker`)")
        return
    stale = timedelta(seconds=3 * config.heartbeat_seconds)
    now = utcnow()
    table = Table("worker", "state", "queues", "running", "concurrency", "last heartbeat", box=None)
    for row in rows:
        alive = row.stopped_at is None and now - row.heartbeat_at < stale
        state = (
            "[green]alive[/]"
            if alive
            else ("[dim]stopped[/]" if row.stopped_at else "[red]lost[/]")
        )
        table.add_row(
            row.hostname,
            state,
            ",".join(row.queues),
            str(len(row.running or [])),
            str(row.concurrency),
            f"{when(row.heartbeat_at)} ({(now - row.heartbeat_at).total_seconds():.0f}s ago)",
        )
    console.print(table)


@click.command("schedulers")
@translate_errors
def schedulers_command() -> None:
    """Schedulers seen by the store: host, process, last heartbeat, and which are alive."""
    config = settings()
    store = open_store(config)
    with store.read() as conn:
        rows = conn.execute(
            select(scheduler).order_by(scheduler.c.stopped_at.is_not(None), scheduler.c.started_at)
        ).all()
    if not rows:
        console.print("no scheduler has run against this store yet (start `conveyor scheduler`)")
        return
    stale = timedelta(seconds=3 * config.heartbeat_seconds)
    now = utcnow()
    table = Table("scheduler", "host", "pid", "state", "started", "last heartbeat", box=None)
    for row in rows:
        if row.stopped_at is not None:
            state = "[dim]stopped[/]"
        elif now - row.heartbeat_at < stale:
            state = "[green]alive[/]"
        else:
            state = "[red]lost[/] (no heartbeat; its work goes on elsewhere)"
        table.add_row(
            row.id,
            row.hostname,
            str(row.pid),
            state,
            when(row.started_at),
            f"{when(row.heartbeat_at)} ({(now - row.heartbeat_at).total_seconds():.0f}s ago)",
        )
    console.print(table)


@click.command("flower", context_settings={"ignore_unknown_options": True})
@click.argument("flower_args", nargs=-1, type=click.UNPROCESSED)
@translate_errors
def flower_command(flower_args: tuple[str, ...]) -> None:
    """Start Celery's Flower monitor on Conveyor's broker (extra arguments go to Flower)."""
    try:
        import flower  # noqa: F401
    except ImportError:
        raise CliError("Flower is not installed: pip install 'conveyor[flower]'") from None
    from conveyor.worker.celery_app import make_app

    app = make_app(settings())
    app.start(["flower", *flower_args])
