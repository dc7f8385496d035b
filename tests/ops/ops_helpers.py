"""What the operations tests share: the real `conveyor` command and a clean environment."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table

from cli_processes import run_cli
from conveyor.clock import utcnow
from conveyor.store.engine import Store

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
ROOT = Path(__file__).resolve().parents[2]


def clean_env(home: Path, **settings: str) -> dict[str, str]:
    """The process environment without any CONVEYOR_* of the developer's, plus ``settings``;
    new DAGs run at once, as the tests' conftest has them (``dags_are_paused_at_creation``
    given says otherwise)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    return {
        **base,
        "COLUMNS": "200",
        "CONVEYOR_HOME": str(home),
        "CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION": "false",
        **{f"CONVEYOR_{k.upper()}": v for k, v in settings.items()},
    }


def store_env(tmp_path: Path, store_url: str, **settings: str) -> dict[str, str]:
    """:func:`clean_env` with a home under ``tmp_path``, its DAG folder and the store."""
    return clean_env(
        tmp_path / "home", database_url=store_url, dags_folder=str(tmp_path / "dags"), **settings
    )


conveyor = run_cli  # ``conveyor ARGS`` run to its end, output captured


def wait_until(condition: Callable[[], bool], limit: float, what: str) -> float:
    """Poll ``condition`` every 0.1 s; the seconds it took, or AssertionError after ``limit``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit:
            raise AssertionError(f"{what} not reached within {limit:g}s")
        time.sleep(0.1)
    return time.monotonic() - started


def pid_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix == ".pid" or p.name.endswith("pidfile"))


def add_dead_process(
    store: Store, table: Table, name: str, beat_ago: timedelta, **row: Any
) -> None:
    """A process's row in ``table`` (schedulers, triggerers) as a process on another host
    leaves it that beat ``beat_ago`` and then died; ``row``: the table's own columns."""
    now = utcnow()
    with store.write() as conn:
        conn.execute(
            table.insert().values(
                id=name,
                hostname="elsewhere",
                started_at=now - beat_ago - timedelta(minutes=1),
                heartbeat_at=now - beat_ago,
                **row,
            )
        )
