"""What the operations tests share: the real `conveyor` command and a clean environment."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cli_processes import run_cli

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
ROOT = Path(__file__).resolve().parents[2]


def clean_env(home: Path, **settings: str) -> dict[str, str]:
    """The process environment without any CONVEYOR_* of the developer's, plus ``settings``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    return {
        **base,
        "COLUMNS": "200",
        "CONVEYOR_HOME": str(home),
        **{f"CONVEYOR_{k.upper()}": v for k, v in settings.items()},
    }


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
