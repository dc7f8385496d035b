"""Airflow compatibility: DAG files written for Airflow 1.10, 2.x or 3.x run unchanged.

Every process that imports user DAG files calls :func:`activate` first (the loader does it
for parsing, tries and ``conveyor run``; ``conveyor.testing`` on import). With the setting
``airflow_compat`` on (the default) it installs the import hook (``hook.py``) that makes
``import airflow...`` resolve to Conveyor through the table in ``table.py``; off, it removes
the hook, and ``import airflow`` finds whatever is installed. docs/airflow.md is the user's
side of it.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import TYPE_CHECKING, Any

from conveyor.airflow_compat.fallback import AirflowNotProvidedError

if TYPE_CHECKING:
    from conveyor.airflow_compat.hook import AirflowNameError, install, is_installed, uninstall

__all__ = [
    "AirflowNameError",
    "AirflowNotProvidedError",
    "activate",
    "enabled",
    "install",
    "is_installed",
    "uninstall",
]

#: Words a Python file must contain (lower-cased) to be scanned as an Airflow DAG file.
AIRFLOW_WORDS = ("airflow", "dag")

#: The hook's names, imported on first use (PEP 562): the hook brings the import table, the
#: plugins and Jinja, which a process that only lists DAG files (the command line's reads,
#: through the DAG file processor's scan) never needs.
_HOOK_NAMES = frozenset({"AirflowNameError", "install", "is_installed", "uninstall"})


def __getattr__(name: str) -> Any:
    if name in _HOOK_NAMES:
        return getattr(importlib.import_module("conveyor.airflow_compat.hook"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def enabled() -> bool:
    """The ``airflow_compat`` setting (conveyor.toml or CONVEYOR_AIRFLOW_COMPAT).

    Asked before every DAG file import; reading the whole configuration each time cost a
    runner more than importing the file. It is read again when what it comes from changes:
    the variable, the home, or the file's modification time."""
    from conveyor.config import ENV_PREFIX, config_file_stamp

    config_file, stamp = config_file_stamp(os.environ)
    variable = os.environ.get(f"{ENV_PREFIX}AIRFLOW_COMPAT", "")
    return _read_enabled(variable, config_file, stamp)


@functools.lru_cache(maxsize=16)
def _read_enabled(variable: str, config_file: str, stamp: int | None) -> bool:
    """The setting as the configuration gives it; the arguments are only the cache's key."""
    from conveyor.config import load_config

    return load_config().settings.airflow_compat


def activate() -> bool:
    """Install or remove the hook as the setting says; returns whether it is installed."""
    from conveyor.airflow_compat.hook import install, uninstall

    if enabled():
        install()
        _export_airflow_home()
        return True
    uninstall()
    return False


_exported_home: str | None = None


def _export_airflow_home() -> None:
    """``AIRFLOW_HOME`` for files that read it at import (``os.environ["AIRFLOW_HOME"]``), as
    Airflow's processes have it: Conveyor's home, unless the environment sets it."""
    global _exported_home
    from conveyor.config import config_file_path

    current = os.environ.get("AIRFLOW_HOME")
    if current is not None and current != _exported_home:
        return  # the user's own
    home = str(config_file_path(os.environ).parent.resolve())
    os.environ["AIRFLOW_HOME"] = _exported_home = home
