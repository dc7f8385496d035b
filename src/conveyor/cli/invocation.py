"""How a user types Conveyor's own commands in another terminal, as hints print them.

``scripts/standalone`` runs ``.venv/bin/conveyor`` without putting ``.venv/bin`` on the
PATH, and a second terminal has neither that PATH nor the first one's ``CONVEYOR_HOME``. A
hint that says ``conveyor dags list`` would fail there (command not found) or read another
home; these say what works: the command's full path when the PATH does not lead to it, and
the home when it is not the default.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

DEFAULT_HOME = Path("~/.conveyor")


def conveyor_script() -> Path:
    """The ``conveyor`` command of the environment this process runs in."""
    return Path(sys.prefix) / "bin" / "conveyor"


def on_path() -> bool:
    """Whether typing ``conveyor`` runs this environment's command."""
    found = shutil.which("conveyor")
    script = conveyor_script()
    return found is not None and script.exists() and Path(found).resolve() == script.resolve()


def conveyor_command(home: Path | None = None) -> str:
    """What to type for ``conveyor`` in another terminal (a command line's first words):
    ``conveyor``, or its full path when the PATH does not lead to it, with
    ``CONVEYOR_HOME=...`` before it when ``home`` is not the default one."""
    script = conveyor_script()
    command = "conveyor" if on_path() or not script.exists() else shlex.quote(str(script))
    if home is not None and _resolved(home) != _resolved(DEFAULT_HOME):
        command = f"CONVEYOR_HOME={shlex.quote(str(home))} {command}"
    return command


def activate_hint() -> str | None:
    """How to put ``conveyor`` on the PATH (the environment's ``activate``), or None when it
    is there already or the environment has none."""
    activate = Path(sys.prefix) / "bin" / "activate"
    if on_path() or not activate.exists():
        return None
    return f"source {shlex.quote(str(activate))}"


def _resolved(home: Path) -> Path:
    return Path(os.path.expanduser(home)).resolve()
