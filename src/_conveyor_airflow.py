"""Conveyor's Airflow names in every Python process of an environment where it is installed.

``conveyor_airflow.pth`` (in site-packages, shipped by the wheel and the editable install)
puts a finder first on ``sys.meta_path`` at interpreter start, written in its one line so
that nothing is imported then. It does nothing until something imports ``airflow``: then,
once, it imports this module (:func:`find_spec`), which asks Conveyor's
``airflow_compat`` setting, installs Conveyor's import hook when it is on (plain ``python``,
plain ``pytest``, notebooks get Airflow's names) and steps aside when it is off, so an
Airflow installed beside Conveyor is found. Being first, it also wins over the bare
``airflow/`` namespace folder that ``apache-airflow-providers-*`` packages leave.

What an interpreter that never imports ``airflow`` pays is that one line (bench/README.md,
"airflow_startup.py").
"""

from __future__ import annotations

import sys


def find_spec(fullname: str, path: object = None, target: object = None) -> object:
    """The first ``airflow`` import (the ``.pth``'s finder hands it here): Conveyor's hook
    answers it when the setting is on; else nothing of ours does, from now on."""
    uninstall()
    try:
        from conveyor import airflow_compat
    except ImportError:  # Conveyor removed, its .pth left behind
        return None
    if not airflow_compat.activate():
        return None
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is not None:
            return find(fullname, path, target)  # Conveyor's hook, now first
    return None


#: The class name of the finder the ``.pth`` line puts first on ``sys.meta_path``; the hook
#: drops it by this name too (``conveyor.airflow_compat.hook.STARTUP_FINDER``).
FINDER_NAME = "ConveyorFirstAirflowImport"


def uninstall() -> None:
    """Take the ``.pth``'s finder off ``sys.meta_path``."""
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != FINDER_NAME]
