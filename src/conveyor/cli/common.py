"""What every command needs: settings, the store, DAG sync, output, one error surface."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from functools import cache
from typing import Any, TextIO

import click
from rich.console import Console
from rich.markup import escape

from conveyor.config import Settings, load_config
from conveyor.exceptions import StoreError
from conveyor.store.engine import Store

#: Without a terminal (a pipe, a file, a script) nothing is wrapped or cut to 80 columns:
#: a line is as long as its content, so ids, paths and error lines survive ``grep``.
UNLIMITED_WIDTH = 100_000


def _console(stream: TextIO, *, stderr: bool = False) -> Console:
    width = None if stream.isatty() else UNLIMITED_WIDTH
    return Console(highlight=False, stderr=stderr, width=width)


console = _console(sys.stdout)
err_console = _console(sys.stderr, stderr=True)

STATE_STYLES = {
    "success": "green",
    "failed": "red",
    "upstream_failed": "dark_orange",
    "running": "cyan",
    "queued": "grey62",
    "scheduled": "tan",
    "up_for_retry": "gold1",
    "skipped": "magenta",
    "none": "grey50",
}


def styled(state: str) -> str:
    return f"[{STATE_STYLES.get(state, 'white')}]{state}[/]"


class CliError(click.ClickException):
    """An error the CLI prints as 'error: ...' with exit code 1."""

    def show(self, file: Any = None) -> None:
        err_console.print("[bold red]error:[/]", escape(self.format_message()))


@cache
def settings() -> Settings:
    return load_config().settings


def open_store(config: Settings | None = None) -> Store:
    """The configured store; an embedded SQLite store is created or upgraded on first use."""
    from conveyor.store import schema  # Alembic: imported by the commands that open a store

    config = config or settings()
    store = Store(config.db_url)
    command = click.get_current_context(silent=True)
    if command is not None:  # its connections close with the command, not at collection
        command.call_on_close(store.dispose)
    if not schema.is_current(store):
        if store.is_sqlite:
            schema.migrate(store)
        else:
            raise StoreError(
                f"the database schema of {store.describe()} is not current: "
                "run `conveyor db migrate`"
            )
    return store


def sync_dags(store: Store, config: Settings | None = None) -> None:
    """Bring the store's DAGs in step with the DAG folder (only changed files are parsed)."""
    from conveyor.loading.processor import DagFileProcessor  # for the commands that read DAGs

    config = config or settings()
    if config.dags_path.is_dir():
        DagFileProcessor(
            store,
            config.dags_path,
            timeout=config.parse_timeout_seconds,
            scan_every=config.dag_scan_seconds,
            max_parallel=config.dag_parse_processes,
            plugins_folder=config.plugins_path,
        ).sync()


def parse_conf(text: str | None) -> dict[str, Any]:
    return json_object(text, "--conf")


def json_object(text: str | None, option: str) -> dict[str, Any]:
    """The JSON object ``option`` was given (empty when it was not)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{option} is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise CliError(f"{option} must be a JSON object, got {type(value).__name__}")
    return value


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}s" if value < 60 else f"{value / 60:.1f}m"
