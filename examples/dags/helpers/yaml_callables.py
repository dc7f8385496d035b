"""Functions that the YAML example pipelines call by import path.

A YAML file holds no Python code: a python task names its function as
``helpers.yaml_callables:choose_path``. The loader finds the ``helpers`` package in the
YAML file's folder or a folder above it, here the examples folder itself.

The functions take the run's context by parameter name (``ds``, ``logical_date``,
``params``) exactly as the same functions would in a Python pipeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from conveyor import Fail

MODES = ("weekday", "weekend")


def choose_path(logical_date: datetime, params: dict[str, Any]) -> str:
    """Follow the weekday or the weekend path, unless the 'mode' param forces one."""
    mode = params["mode"]
    if mode == "auto":
        mode = "weekend" if logical_date.weekday() >= 5 else "weekday"
    if mode not in MODES:
        # Fail ends the task at once: retrying would not fix a bad parameter.
        raise Fail(f"param 'mode' must be 'auto', 'weekday' or 'weekend', got {mode!r}")
    return f"{mode}_report"  # must be a task directly downstream of this one


def weekday_publish() -> str:
    return "published the weekday report"


def weekend_report(ds: str) -> str:
    return f"weekend summary for {ds}"


def check_rows(line: str, table: str) -> dict[str, Any]:
    """Read 'rows=N' from the extract step's last output line and refuse an empty table."""
    key, _, value = line.partition("=")
    if key != "rows" or not value.isdigit():
        raise ValueError(f"expected 'rows=N' from the extract step of {table}, got {line!r}")
    rows = int(value)
    if rows == 0:
        raise Fail(f"table {table} came out empty")
    return {"table": table, "rows": rows}
