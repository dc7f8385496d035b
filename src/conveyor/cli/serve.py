"""``conveyor scheduler``, ``triggerer`` and ``standalone``: the long-running processes."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from conveyor import interrupts
from conveyor.cli import served_folder
from conveyor.cli.common import console, open_store, settings
from conveyor.cli.standalone_banner import banner_lines, line, login_lines
from conveyor.config import Settings, load_config
from conveyor.executors.base import Executor
from conveyor.executors.local import LocalExecutor
from conveyor.loading.builder import processor_for
from conveyor.logs.task_logs import remote_logs
from conveyor.scheduler.loop import Scheduler
from conveyor.store.engine import Store
from conveyor.triggerer import Triggerer
from conveyor.triggerer.process import beside as triggerer_beside


def _executor(config: Settings) -> Executor:
    if config.executor == "celery":
        from conveyor.executors.celery_executor import CeleryExecutor

        return CeleryExecutor(config)
    if config.executor == "kubernetes":
        from conveyor.executors.kubernetes.executor import KubernetesExecutor

        return KubernetesExecutor(config)
    if config.executor == "celery_kubernetes":
        from conveyor.executors.celery_executor import CeleryExecutor
        from conveyor.executors.kubernetes.celery_kubernetes import CeleryKubernetesExecutor
        from conveyor.executors.kubernetes.executor import KubernetesExecutor

        return CeleryKubernetesExecutor(config, CeleryExecutor(config), KubernetesExecutor(config))
    return LocalExecutor(config)


def scheduler_of(config: Settings, store: Store) -> Scheduler:
    """The scheduler ``config`` asks for on ``store``, parsing the DAG folder in its loop."""
    return Scheduler(config, store, _executor(config), processor_for(config, store))


def _serve(config: Settings, store: Store, *, with_triggerer: bool = False) -> None:
    remote_logs(config)  # a missing S3 client fails now, not at the end of the first try
    scheduler = scheduler_of(config, store)
    scheduler.install_signal_handlers()
    from conveyor.metrics import instrument_scheduler

    instrument_scheduler(scheduler, config)  # loop time on metrics_port, when set
    with (
        served_folder.recorded(config.home, config.dags_path),
        triggerer_beside(config) if with_triggerer else contextlib.nullcontext(),
    ):
        scheduler.run()
    console.print("scheduler stopped")
    interrupts.stop_done(0)


@click.command("scheduler")
def scheduler_command() -> None:
    """Schedule and run DAGs until stopped (SIGTERM or Ctrl-C)."""
    config = settings()
    store = open_store(config)
    console.print(
        f"scheduler: {store.describe()}, DAGs from {config.dags_path}, "
        f"{config.executor} executor (parallelism {config.parallelism})"
    )
    _serve(config, store)


@click.command("triggerer")
@click.option(
    "--capacity",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="The most triggers this triggerer runs at once.",
)
def triggerer_command(capacity: int) -> None:
    """Run deferred tasks' triggers until stopped (SIGTERM or Ctrl-C)."""
    config = settings()
    store = open_store(config)
    console.print(f"triggerer: {store.describe()}, up to {capacity} triggers")
    interrupts.install()
    # Its two threads (the store's and the triggers' loop) hand the interpreter's lock back
    # and forth all the time; the default 5 ms switch held an event's record up that long.
    sys.setswitchinterval(0.0005)
    Triggerer(config, store, capacity=capacity).run()
    console.print("triggerer stopped")
    interrupts.stop_done(0)


@click.command("standalone")
@click.option(
    "--dags-folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Serve the DAGs of this folder (default: the configured dags_folder).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Web UI address.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Web UI port."
)
@click.option(
    "--paused-at-creation/--unpaused-at-creation",
    "paused_at_creation",
    default=None,
    help="Whether DAGs seen for the first time start paused (default: the setting "
    "dags_are_paused_at_creation, true). scripts/standalone starts the example DAGs unpaused.",
)
def standalone_command(
    dags_folder: Path | None, host: str, port: int, paused_at_creation: bool | None
) -> None:
    """Everything on one machine: SQLite store, scheduler, local executor and web UI."""
    config = load_config(
        dags_folder=str(dags_folder.resolve()) if dags_folder else None,
        dags_are_paused_at_creation=paused_at_creation,
    ).settings
    config.dags_path.mkdir(parents=True, exist_ok=True)
    existing = _existing_store(config.db_url)
    store = open_store(config)
    console.print("[bold]Conveyor standalone[/]")
    for text in banner_lines(config, store.describe(), existing):
        console.print(text, markup=False)
    web = _start_web(config, store, host, port)
    try:
        _serve(config, store, with_triggerer=True)
    finally:
        web.should_exit = True


def _existing_store(db_url: str) -> bool:
    """Whether the store is already there before this start (a SQLite file that exists)."""
    scheme, _, rest = db_url.partition(":///")
    if not scheme.startswith("sqlite") or not rest:
        return False
    path = rest.split("?", 1)[0]
    return path not in ("", ":memory:") and Path(path).exists()


def _start_web(config: Settings, store: Store, host: str, port: int) -> Any:
    """The web UI in a thread beside the scheduler; on first start, an admin to log in with."""
    from conveyor.cli.web import make_server, serve_in_thread, web_url
    from conveyor.web.accounts import ensure_admin

    password = ensure_admin(store)
    console.print(line("web UI", web_url(config, host, port)), markup=False)
    for text in login_lines(config, password):
        console.print(text, markup=False)
    server = make_server(config, Store(config.db_url), host, port)  # its own connection pool
    serve_in_thread(server)
    return server
