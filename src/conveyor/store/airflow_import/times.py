"""Airflow's stored times as aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def utc(value: Any) -> datetime | None:
    """A stored time as aware UTC (SQLite and MySQL keep Airflow's UTC times naive)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    found: datetime = value
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)
