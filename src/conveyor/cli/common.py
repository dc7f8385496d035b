"""What every command needs: settings, the store, DAG sync, output, one error surface."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TextIO

import click
from rich.console import Console
from rich.markup import escape

from conveyor import lifecycle, strict_json
from conveyor.config import Settings, load_config
from conveyor.exceptions import StoreError

if TYPE_CHECKING:
    from conveyor.store.engine import Store

#: Without a terminal (a pipe, a file, a script) nothing is wrapped or cut to 80 columns:
#: a line is as long as its content, so ids, paths and error lines survive ``grep``.
UNLIMITED_WIDTH = 100_000


#: Characters a terminal acts on rather than shows: C0 controls but tab and newline, DEL, C1
#: controls (``\x9b`` starts a sequence as ESC ``[`` does), and the bidirectional overrides
#: that make text read in another order than it is stored.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, *, one_line: bool = False) -> str:
    """Stored text as the CLI may print it: control characters written as escapes
    (``\\x1b``), so that what anyone stored (a user name at a failed login, an error, a
    note) cannot clear the screen, move the cursor or forge a line; ``one_line`` escapes
    newlines and tabs too, for a table cell."""
    found = _CONTROLS.sub(_escaped, text)
    if one_line:
        found = found.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return found


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return f"\\x{ord(char):02x}" if ord(char) <= 0xFF else f"\\u{ord(char):04x}"


class _PrintableConsole(Console):
    """A console whose text arguments are :func:`printable` first: every command prints
    through it, so no stored text reaches the terminal as control characters."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(printable(o) if isinstance(o, str) else o for o in objects), **kwargs)


def _console(stream: TextIO, *, stderr: bool = False) -> Console:
    width = None if stream.isatty() else UNLIMITED_WIDTH
    return _PrintableConsole(highlight=False, stderr=stderr, width=width)


console = _console(sys.stdout)
err_console = _console(sys.stderr, stderr=True)

#: How the CLI colours a state's name: as the UI does (conveyor/lifecycle.py).
STATE_STYLES = {
    state.value: display.text_colour
    for displays in (lifecycle.TASK_DISPLAY, lifecycle.RUN_DISPLAY)
    for state, display in displays.items()
}


def instance_name(task_id: str, map_index: int) -> str:
    """A task instance as the CLI names it: ``task``, or ``task[3]`` for a mapped task's."""
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def styled(state: str) -> str:
    return f"[{STATE_STYLES.get(state, 'white')}]{state}[/]"


class CliError(click.ClickException):
    """An error the CLI prints as 'error: ...' with exit code 1."""

    def show(self, file: Any = None) -> None:
        err_console.print("[bold red]error:[/]", escape(self.format_message()))


@cache
def settings() -> Settings:
    """The settings; with no ``dags_folder`` set, the folder a running scheduler of this
    home serves (``standalone --dags-folder``), as ``served_folder`` records it."""
    from conveyor.cli import served_folder

    loaded = load_config()
    config = loaded.settings
    if loaded.sources.get("dags_folder") == "default":
        folder = served_folder.served(config.home)
        if folder is not None:
            return config.model_copy(update={"dags_folder": folder.resolve()})
    return config


def open_store(config: Settings | None = None) -> Store:
    """The configured store; an embedded SQLite store is created or upgraded on first use."""
    # Imported here: a command that reads no store (`version`, `config get-value`) loads no
    # SQLAlchemy, a third of a read command's start.
    from conveyor.store import schema_version
    from conveyor.store.engine import Store

    config = config or settings()
    store = Store(config.db_url)
    command = click.get_current_context(silent=True)
    if command is not None:  # its connections close with the command, not at collection
        command.call_on_close(store.dispose)
    if schema_version.known_current(store):  # one plain query: Alembic is not loaded
        return store
    from conveyor.store import schema  # Alembic: only for a store that may need migrating

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
    from conveyor.loading.builder import processor_for  # for the commands that read DAGs

    config = config or settings()
    if config.dags_path.is_dir():
        processor_for(config, store, one_off=True).sync()


def parse_conf(text: str | None) -> dict[str, Any]:
    return json_object(text, "--conf")


def json_object(text: str | None, option: str) -> dict[str, Any]:
    """The JSON object ``option`` was given (empty when it was not)."""
    if not text:
        return {}
    try:
        value = strict_json.loads(text, option)
    except json.JSONDecodeError as exc:
        raise CliError(f"{option} is not valid JSON: {exc.msg} at column {exc.colno}") from None
    except strict_json.NotStrictJson as exc:
        raise CliError(str(exc)) from None
    if not isinstance(value, dict):
        raise CliError(f"{option} must be a JSON object, got {type(value).__name__}")
    return value


def parse_moment(text: str | None, option: str) -> datetime | None:
    """A date or time given on the command line (``2024-03-01``, ``2024-03-01T06:00``,
    ``2024-03-01 06:00:00+02:00``), as an aware time: UTC unless it has an offset, as
    Airflow reads its ``-s``, ``-e`` and ``-l`` options."""
    if text is None or text == "":
        return None
    try:
        found = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date or time (YYYY-MM-DD or ISO 8601, such as "
            "2024-03-01T06:00:00+00:00)",
            param_hint=option,
        ) from None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}s" if value < 60 else f"{value / 60:.1f}m"
