"""The command that installs an optional extra, as the hints for a missing library say it.

``pip install 'conveyor[amazon]'`` is right for Conveyor installed from a package; a source
checkout (``scripts/standalone`` installs it editable into the checkout's ``.venv``) needs
that environment's pip and the checkout's path, or the plain command installs into another
Python, or fetches a published Conveyor over the checkout's.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def pip_install(extra: str) -> str:
    """The command that installs ``conveyor[extra]`` where this Conveyor runs."""
    checkout = source_checkout()
    if checkout is None:
        return f"pip install 'conveyor[{extra}]'"
    pip = Path(sys.prefix) / "bin" / "pip"
    command = f"{shlex.quote(str(pip))} install -e {shlex.quote(f'{checkout}[{extra}]')}"
    return f"{command} (the extra conveyor[{extra}], into this checkout's environment)"


def source_checkout() -> Path | None:
    """The source checkout this Conveyor runs from (``src/conveyor`` beside the project's
    ``pyproject.toml``), or None for an installed package."""
    package = Path(__file__).resolve().parent
    root = package.parent.parent
    if package.parent.name == "src" and (root / "pyproject.toml").is_file():
        return root
    return None
