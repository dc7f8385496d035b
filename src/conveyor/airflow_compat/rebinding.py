"""Names a DAG file rebinds in the ``airflow.*`` modules are put back when its try ends.

The ``airflow.*`` modules are shared by every DAG a process runs. A file that assigns
``airflow.models.DAG = MyDAG`` (or deletes a name) would otherwise change what every later
DAG in that runner or pool process gets. While a try runs (``loading.namespaces`` calls
:func:`start` and :func:`undo`), each such change is written down with what it replaced, and
undone in reverse order at its end. Not written down: the table's own values cached on first
access (asked again, the table gives the same object) and a submodule bound on its package by
the import system.
"""

from __future__ import annotations

import sys
import types
from typing import Any

#: (module, name, what it held before, or _ABSENT), oldest first; None: not recording.
_changes: list[tuple[types.ModuleType, str, Any]] | None = None
_ABSENT = object()


def start() -> None:
    """Record every rebinding from now on (a try began)."""
    global _changes
    if _changes is None:
        _changes = []


def undo() -> None:
    """Put back every name rebound since :func:`start`, and stop recording."""
    global _changes
    changes, _changes = _changes, None
    for module, name, before in reversed(changes or ()):
        if before is _ABSENT:
            module.__dict__.pop(name, None)
        else:
            module.__dict__[name] = before


class RecordedRebinding(types.ModuleType):
    """A module whose assignments and deletions are recorded while a try runs."""

    def __setattr__(self, name: str, value: Any) -> None:
        if _changes is not None and not _is_own(self, name, value):
            _changes.append((self, name, self.__dict__.get(name, _ABSENT)))
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if _changes is not None and name in self.__dict__:
            _changes.append((self, name, self.__dict__[name]))
        super().__delattr__(name)


def _is_own(module: types.ModuleType, name: str, value: Any) -> bool:
    """A write the import system or the module itself makes, never a DAG's rebinding."""
    if name.startswith("__"):
        return True  # __spec__, __loader__, __path__, __doc__: set as the module is made
    if value is not None and value is sys.modules.get(f"{module.__name__}.{name}"):
        return name not in module.__dict__ or module.__dict__[name] is value
    if name in module.__dict__:
        return False
    return _canonical(module, name) is value


def _canonical(module: types.ModuleType, name: str) -> Any:
    """What the table gives for ``module.name`` (resolved again: the same object), or _ABSENT."""
    from conveyor.airflow_compat import table
    from conveyor.airflow_compat.hook import AirflowNameError, resolve

    target = table.lookup(module.__name__, name)
    if target is None:
        return _ABSENT
    try:
        return resolve(target, f"{module.__name__}.{name}")
    except AirflowNameError:
        return _ABSENT
