"""``-o/--output table|json|yaml|plain``: one way for every list and show command to print.

``json`` and ``yaml`` print the same shapes as the REST API, because the commands build the
API's own pydantic models (``conveyor.web.schemas`` through ``conveyor.web.queries``) and this
module only serializes them: a script may move between ``conveyor ... -o json`` and
``GET /api/v1/...`` without a second parser. ``plain`` is tab-separated with a header line,
for ``cut`` and ``awk``; ``table`` is for people. No form ever cuts a value: table columns
fold instead of ending in an ellipsis, and without a terminal the console is wide enough for
any row (see ``common.console``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import click
from pydantic import BaseModel
from rich.markup import escape
from rich.table import Table

from conveyor.cli.common import console, printable, when

FORMATS = ("table", "json", "yaml", "plain")

output_option = click.option(
    "-o",
    "--output",
    "output",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people; json and yaml as the REST API returns them; plain: tab-separated.",
)


def jsonable(data: Any) -> Any:
    """What the API would send for ``data``: models dumped as JSON (with field aliases)."""
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json", by_alias=True)
    if isinstance(data, Mapping):
        return {str(k): jsonable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [jsonable(v) for v in data]
    if isinstance(data, datetime):
        return data.isoformat()
    return data


def write_data(output: str, data: Any) -> bool:
    """Print ``data`` as JSON or YAML when asked; False for the table and plain forms."""
    if output == "json":
        click.echo(json.dumps(jsonable(data), indent=2, ensure_ascii=False))
        return True
    if output == "yaml":
        import yaml  # only for -o yaml

        click.echo(yaml.safe_dump(jsonable(data), sort_keys=False, allow_unicode=True), nl=False)
        return True
    return False


Cell = str | int | float | bool | datetime | None


def _plain(value: Cell) -> str:
    """A field of a tab-separated line: ISO times, empty for none, tabs and newlines escaped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value).replace("\\", "\\\\")
    return printable(text, one_line=True)


def _shown(value: Cell) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return when(value)
    return printable(str(value), one_line=True)


def write_rows(
    output: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    styles: Mapping[str, Callable[[str], str]] | None = None,
    empty: str | None = None,
) -> None:
    """Print rows as a table (``table``) or as tab-separated lines under a header (``plain``).

    ``styles`` gives markup for a column's cells in the table form; ``empty`` is what the
    table form says when there are no rows (``plain`` prints the header alone, for scripts).
    """
    rows = list(rows)
    if output == "plain":
        click.echo("\t".join(columns))
        for row in rows:
            click.echo("\t".join(_plain(v) for v in row))
        return
    if not rows and empty is not None:
        console.print(empty)
        return
    styles = styles or {}
    table = Table(box=None)
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        cells = []
        for name, value in zip(columns, row, strict=True):
            text = escape(_shown(value))
            style = styles.get(name)
            cells.append(style(text) if style and value is not None else text)
        table.add_row(*cells)
    console.print(table)
