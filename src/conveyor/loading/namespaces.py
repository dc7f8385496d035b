"""Each DAG folder's helper modules apart from every other folder's, in one process.

A runner or a Celery pool process runs the tries of many DAGs one after another. DAG files
import their helpers by plain names (``utils``, ``common``, ``config``), and ``sys.modules``
is one table per process: without this module, the second folder's ``import utils`` got the
first folder's module, silently, and a helper named like a standard module not imported yet
(``statistics.py``) stood in for it in every later DAG.

So each set of folders a DAG file is imported from (its own folder, or its code cache
bundle) has a :class:`Namespace`: the modules found on those folders, kept between its tries
(a second try imports nothing again) and present in ``sys.modules`` only while one of its
DAGs is loaded or run. The rule for what is whose:

- a module found on an entry of ``sys.path`` the process had before the namespace was
  entered (the standard library, site-packages, ``PYTHONPATH``) is shared by every DAG, as
  before;
- a module found on an entry added for the DAG (its folder, its bundle, or one its own code
  adds to ``sys.path``) is its namespace's, and so are that module's submodules.

The folders go after the entries the process had, as Airflow appends its DAG and plugins
folders to ``sys.path``: a module of the folder named like an installed or standard one (a
plugins folder's ``pandas/`` package, meant as ``plugins.pandas``) never stands in for it.
``leave`` (the end of every try) takes the namespace's modules out again, puts ``sys.path``
back as it was, and undoes what DAG code rebound in the ``airflow.*`` modules
(``airflow_compat.rebinding``).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from conveyor.airflow_compat import plugins, rebinding


@dataclass(eq=False)
class Namespace:
    """The modules of one set of DAG folders, with what ``sys.path`` gets while it is entered."""

    folders: tuple[str, ...]
    #: The one of its folders that is a plugins folder (``airflow_compat.plugins`` looks in
    #: it for ``AirflowPlugin`` classes), if any.
    plugins: str | None = None
    #: Its modules by name, while it is not entered (and what it had, while it is).
    modules: dict[str, types.ModuleType] = field(default_factory=dict)
    #: By module: its file's (modification time, size) when the module joined it.
    files: dict[str, tuple[int, int]] = field(default_factory=dict)


_namespaces: dict[tuple[str, ...], Namespace] = {}


class _Entered:
    """What ``enter`` changed, for ``leave`` to undo."""

    def __init__(self, namespace: Namespace) -> None:
        self.namespace = namespace
        self.path = list(sys.path)
        self.shared_entries = frozenset(self.path)
        self.found: set[str] = set()  # names found in the namespace's folders since
        #: Shared modules named like one of its own (found when no shared entry had it).
        self.hidden: dict[str, types.ModuleType] = {}


_entered: _Entered | None = None


def for_folders(folders: Sequence[str], plugins_folder: str | None = None) -> Namespace:
    """The namespace of DAG files imported from ``folders`` (on ``sys.path`` in order, after
    the process's own entries), of which ``plugins_folder`` (if given) is the plugins
    folder."""
    key = tuple(folders)
    found = _namespaces.get(key)
    if found is None:
        found = _namespaces[key] = Namespace(key, plugins_folder)
    return found


def refresh(namespace: Namespace) -> None:
    """Look at the namespace's modules again, as a DAG file is imported into it (a new
    version, perhaps with new helpers): a module whose file changed since it was imported is
    let go, to be imported anew."""
    _drop_changed(namespace)


def _drop_changed(namespace: Namespace) -> None:
    for name, stamp in list(namespace.files.items()):
        module = namespace.modules.get(name)
        if module is not None and _file_stamp(module) == stamp:
            continue
        namespace.files.pop(name)
        namespace.modules.pop(name, None)
        in_use = _entered is not None and _entered.namespace is namespace
        if in_use and module is not None and sys.modules.get(name) is module:
            del sys.modules[name]


def _file_stamp(module: types.ModuleType) -> tuple[int, int] | None:
    filename = getattr(module, "__file__", None)
    if not isinstance(filename, str):
        return None  # a namespace package: nothing of its own to change
    try:
        st = os.stat(filename)
    except OSError:
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


def enter(namespace: Namespace) -> None:
    """Make ``namespace``'s modules the ones ``import`` finds, leaving any other first."""
    global _entered
    if _entered is not None:
        if _entered.namespace is namespace:
            return
        leave()
    _install_finder()
    entered = _Entered(namespace)
    for name, module in namespace.modules.items():
        shared = sys.modules.get(name)
        if shared is not None and shared is not module:
            entered.hidden[name] = shared
    sys.modules.update(namespace.modules)
    sys.path.extend(namespace.folders)  # after the process's own entries, as on Airflow
    rebinding.start()
    plugins.enter(namespace.plugins)
    _entered = entered


def leave() -> None:
    """Take the entered namespace's modules out of ``sys.modules`` (it keeps them), put
    ``sys.path`` back and undo rebound ``airflow.*`` names. Nothing when none is entered."""
    global _entered
    entered, _entered = _entered, None
    if entered is None:
        return
    rebinding.undo()
    plugins.leave()
    namespace = entered.namespace
    for name in list(namespace.modules) + [n for n in entered.found if n not in namespace.modules]:
        module = sys.modules.pop(name, None)
        if module is None:  # removed by the DAG's code, or failed to import
            namespace.modules.pop(name, None)
            namespace.files.pop(name, None)
            continue
        if namespace.modules.get(name) is not module:
            stamp = _file_stamp(module)
            if stamp is not None:
                namespace.files[name] = stamp
        namespace.modules[name] = module
    sys.modules.update(entered.hidden)
    sys.path[:] = entered.path


def forget(namespace: Namespace) -> None:
    """Let a namespace and its modules go (its DAG versions were let go)."""
    if _entered is not None and _entered.namespace is namespace:
        leave()
    _namespaces.pop(namespace.folders, None)
    namespace.modules.clear()


def forget_entered() -> None:
    """Leave the entered namespace and let it go, so that the next DAG file imports its
    helpers anew: a parse child's files one after another, each as a fresh process sees it."""
    if _entered is not None:
        forget(_entered.namespace)


class _Finder(importlib.abc.MetaPathFinder):
    """Notes each module found on a ``sys.path`` entry added since the namespace was entered
    (or below a module so found), so that ``leave`` knows it for the namespace's own."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        current = _entered
        if current is None:
            return None
        if path is not None:  # a submodule: the namespace's if its package is
            top = fullname.partition(".")[0]
            if top not in current.found and top not in current.namespace.modules:
                return None
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        else:
            spec = self._first_on_path(fullname, current.shared_entries)
        if spec is not None:
            current.found.add(fullname)
        return spec

    @staticmethod
    def _first_on_path(
        fullname: str, shared: frozenset[str]
    ) -> importlib.machinery.ModuleSpec | None:
        """The module as ``sys.path`` finds it, if the entry that has it is not shared; a
        namespace package if it has a portion on an entry that is not."""
        entries = list(sys.path)
        portion_of_ours = False
        for entry in entries:
            spec = importlib.machinery.PathFinder.find_spec(fullname, [entry])
            if spec is None:
                continue
            if spec.origin is None and spec.submodule_search_locations is not None:
                # A namespace package's portion: a module found further on still wins.
                portion_of_ours = portion_of_ours or entry not in shared
                continue
            return None if entry in shared else spec
        if portion_of_ours:
            return importlib.machinery.PathFinder.find_spec(fullname, entries)
        return None


_FINDER = _Finder()


def _install_finder() -> None:
    """First on ``sys.meta_path``, or second behind the ``airflow`` hook (which owns only
    ``airflow.*``): ahead of every finder that could find a helper by its name."""
    if _FINDER in sys.meta_path[:2]:
        return
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    sys.meta_path.insert(0, _FINDER)
