"""The pools file of ``airflow pools export`` / ``import``, read and written.

``{"name": {"slots": N, "description": "...", "include_deferred": false}}``; Airflow's -1
slots (no limit) is Conveyor's unlimited pool. ``include_deferred`` is accepted and not
kept: Conveyor's pools count queued and running tries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from conveyor.exceptions import ConfigError
from conveyor.store.pools import PoolUsage

_KEYS = {"slots", "description", "include_deferred"}


class PoolEntry(NamedTuple):
    name: str
    slots: int | None  # None: no limit
    description: str | None


def read_pools(path: Path) -> list[PoolEntry]:
    """Every pool of the file, checked whole before anything is written."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f'{path}: expected an object {{"name": {{"slots": N, ...}}}}')
    return [_entry(path, str(name), value) for name, value in data.items()]


def _entry(path: Path, name: str, value: Any) -> PoolEntry:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: pool {name!r} must be an object with slots")
    unknown = sorted(set(value) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: pool {name!r}: unknown keys {', '.join(unknown)} "
            f"(a pool has {', '.join(sorted(_KEYS))})"
        )
    slots = value.get("slots")
    if isinstance(slots, bool) or not isinstance(slots, int) or slots < -1:
        raise ConfigError(
            f"{path}: pool {name!r}: slots must be a whole number >= 0, or -1 for no limit; "
            f"got {slots!r}"
        )
    description = value.get("description")
    if description is not None and not isinstance(description, str):
        raise ConfigError(f"{path}: pool {name!r}: description must be text")
    return PoolEntry(name, None if slots == -1 else slots, description)


def pools_document(found: list[PoolUsage]) -> dict[str, Any]:
    """The pools as ``airflow pools export`` writes them."""
    return {
        p.name: {
            "description": p.description,
            "slots": -1 if p.slots is None else p.slots,
            "include_deferred": False,
        }
        for p in found
    }
