"""The one clock: aware UTC "now", for every layer (the store's columns and the sensors alike)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (the store refuses naive ones)."""
    return datetime.now(UTC)
