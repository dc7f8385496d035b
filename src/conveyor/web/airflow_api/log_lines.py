"""A try's log text as Airflow's structured log messages: one dict per line with ``event``,
and where the line says them ``timestamp``, ``level`` and ``logger``; a failure's traceback
becomes one ``error`` message whose ``error_detail`` lists the exception and its frames.

Each line of a try's log starts with the time it was written, ``[2026-01-01 10:00:00,123] ``
(UTC: logs/stamps.py); a log written before Conveyor stamped every line has the time only on
its records. After the time comes one of three kinds of lines (worker/runner.py writes them):

- records of the task's loggers: ``{etl.py:12} INFO - text``;
- Conveyor's own notes: ``[conveyor] text``; a failure is ``[conveyor] failed:`` followed by
  the traceback of the user's code and the exception's ``Type: message`` line(s);
- anything the task or its commands printed, kept as it is (logger ``task.stdout``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

_STAMP = re.compile(r"^\[(?P<time>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[,.]\d+)?)\] ")
_RECORD = re.compile(r"^\{(?P<file>[^}:]*):(?P<line>\d+)\} (?P<level>[A-Z]+) - (?P<text>.*)$")
_NOTE = "[conveyor] "
_FAILED = "[conveyor] failed:"
_FRAME = re.compile(r'^  File "(?P<file>[^"]*)", line (?P<line>\d+), in (?P<name>.*)$')
_EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_][\w.]*): (?P<value>.*)$")

#: The event Airflow gives the message that carries a failure's ``error_detail``.
FAILED_EVENT = "Task failed with exception"


def structured(text: str) -> list[dict[str, Any]]:
    """Each message of ``text``, in order."""
    return list(_messages(text.splitlines()))


def _messages(lines: list[str]) -> Iterator[dict[str, Any]]:
    at = 0
    while at < len(lines):
        time, line = _unstamped(lines[at])
        at += 1
        if line == _FAILED:
            block = []
            while at < len(lines):
                rest = _unstamped(lines[at])[1]
                if _starts_message(rest):
                    break
                block.append(rest)
                at += 1
            yield _stamped(time, _failure(block))
            continue
        yield _stamped(time, _message(line))


def _unstamped(line: str) -> tuple[str | None, str]:
    """The line's time (ISO, UTC) if it starts with one, and the rest of the line."""
    found = _STAMP.match(line)
    if found is None:
        return None, line
    return _time(found["time"]), line[found.end() :]


def _stamped(time: str | None, message: dict[str, Any]) -> dict[str, Any]:
    return message if time is None else {"timestamp": time, **message}


def _starts_message(line: str) -> bool:
    return line.startswith(_NOTE) or _RECORD.match(line) is not None


def _message(line: str) -> dict[str, Any]:
    record = _RECORD.match(line)
    if record is not None:
        return {
            "level": record["level"].lower(),
            "logger": "task",
            "event": record["text"],
            "filename": record["file"],
            "lineno": int(record["line"]),
        }
    if line.startswith(_NOTE):
        return {"level": "info", "logger": "conveyor", "event": line.removeprefix(_NOTE)}
    return {"level": "info", "logger": "task.stdout", "event": line}


def _time(text: str) -> str | None:
    try:
        found = datetime.fromisoformat(text.replace(",", "."))
    except ValueError:
        return None
    return found.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _failure(block: list[str]) -> dict[str, Any]:
    """``[conveyor] failed:`` and the traceback after it, as one message."""
    frames: list[dict[str, Any]] = []
    rest: list[str] = []
    for line in block:
        frame = _FRAME.match(line)
        if frame is not None and not rest:
            frames.append(
                {"filename": frame["file"], "lineno": int(frame["line"]), "name": frame["name"]}
            )
        elif line.startswith("    ") and frames and not rest:
            continue  # the frame's source line
        else:
            rest.append(line)
    first = _EXCEPTION.match(rest[0]) if rest else None
    kind = first["type"] if first is not None else ""
    value = "\n".join([first["value"], *rest[1:]] if first is not None else rest)
    return {
        "level": "error",
        "logger": "conveyor",
        "event": FAILED_EVENT,
        "error_detail": [
            {
                "exc_type": kind,
                "exc_value": value,
                "exc_notes": [],
                "syntax_error": None,
                "is_cause": False,
                "is_group": False,
                "exceptions": [],
                "frames": frames,
            }
        ],
    }
