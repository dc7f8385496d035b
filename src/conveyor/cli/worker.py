"""``conveyor worker``: run tries from the broker on this machine (Celery's prefork pool)."""

from __future__ import annotations

import socket

import click

from conveyor.cli.common import CliError, open_store, settings
from conveyor.logs.task_logs import remote_logs


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
def worker_command(queues: str, concurrency: int | None, hostname: str | None) -> None:
    """Run tries from the broker on this machine until SIGTERM (Celery prefork pool)."""
    from celery.utils.nodenames import default_nodename, host_format

    from conveyor.executors.celery_app import make_app
    from conveyor.metrics import serve_process_metrics

    config = settings()
    open_store(config)  # fail early, with the reason, if the store is unreachable or stale
    remote_logs(config)  # and if remote_logs_url is set without the S3 client
    names = [q.strip() for q in queues.split(",") if q.strip()]
    if not names:
        raise CliError("--queues needs at least one queue name")
    app = make_app(config)
    serve_process_metrics(config)  # on metrics_port, when set
    # Celery's worker class itself, as its `celery worker` command builds it, not through that
    # command: its command line loads every installed Celery plugin first (Flower with Tornado,
    # the amqp shell), a third of a second and their memory in every worker for nothing.
    app.Worker(
        hostname=host_format(default_nodename(hostname or f"conveyor@{socket.gethostname()}")),
        queues=names,
        concurrency=concurrency or config.parallelism,
        pool_cls="prefork",
        loglevel="INFO",
        without_mingle=True,
        without_gossip=True,
    ).start()
