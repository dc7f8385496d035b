"""SQL against a database other than the store (a SqlSensor's), through the same driver
stack: one short-lived connection per query, no pool kept between pokes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool


def first_row(url: str, sql: str, parameters: dict[str, Any]) -> tuple[Any, ...] | None:
    """The first row ``sql`` returns at ``url`` (``:name`` placeholders bound from
    ``parameters``), or None when it returns none."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            row = conn.execute(text(sql), parameters).first()
    finally:
        engine.dispose()
    return None if row is None else tuple(row)
