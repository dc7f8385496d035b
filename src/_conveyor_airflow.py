"""Conveyor's Airflow names in every Python process of an environment where it is installed.

``conveyor_airflow.pth`` (in site-packages, shipped by the wheel and the editable install)
runs :func:`install` at interpreter start. It puts a finder first on ``sys.meta_path`` that
does nothing until something imports ``airflow``: then, once, it asks Conveyor's
``airflow_compat`` setting, installs Conveyor's import hook when it is on (plain ``python``,
plain ``pytest``, notebooks get Airflow's names) and steps aside when it is off, so an
Airflow installed beside Conveyor is found. Being first, it also wins over the bare
``airflow/`` namespace folder that ``apache-airflow-providers-*`` packages leave.

This module stays tiny and imports nothing at start, not even ``typing`` (a third of a bare
interpreter's start): every interpreter of the environment loads it (bench/README.md,
"airflow_startup.py").
"""

from __future__ import annotations

import sys


class _FirstAirflowImport:
    """Hands the first ``airflow`` import to Conveyor's hook, or away when it is off."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> object:
        if fullname != "airflow" and not fullname.startswith("airflow."):
            return None
        uninstall()  # once: from here Conveyor's hook answers, or nothing of ours does
        try:
            from conveyor import airflow_compat
        except ImportError:  # Conveyor removed, its .pth left behind
            return None
        if not airflow_compat.activate():
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is not self and find_spec is not None:
                return find_spec(fullname, path, target)  # Conveyor's, now first
        return None


_FINDER = _FirstAirflowImport()


def install() -> None:
    """Wait for the first ``airflow`` import (the ``.pth`` calls this at start)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
