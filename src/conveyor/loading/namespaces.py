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

A namespace that has a module named like a shared one that some other DAG imported since the
process started hides the shared one while it is entered, so a helper that shadows a standard
module does so for its own DAGs only, whatever ran before. ``leave`` (the end of every try)
takes the namespace's modules out again, puts ``sys.path`` back as it was, and undoes what
DAG code rebound in the ``airflow.*`` modules (``airflow_compat.rebinding``).
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
    #: Top-level names of its folders' modules that a shared module may also have.
    shadows: frozenset[str] = frozenset()
    stamps: tuple[int, ...] = ()  # its folders' modification times when shadows was made
    #: By module: its file's (modification time, size) when the module joined it.
    files: dict[str, tuple[int, int]] = field(default_factory=dict)


_namespaces: dict[tuple[str, ...], Namespace] = {}
#: The modules the process had before it entered any namespace: what a fresh process has.
_baseline: frozenset[str] | None = None


class _Entered:
    """What ``enter`` changed, for ``leave`` to undo."""

    def __init__(self, namespace: Namespace) -> None:
        self.namespace = namespace
        self.path = list(sys.path)
        self.shared_entries = frozenset(self.path)
        self.found: set[str] = set()  # names found in the namespace's folders since
        self.hidden: dict[str, types.ModuleType] = {}  # shared modules its own stand in for


_entered: _Entered | None = None


def for_folders(folders: Sequence[str], plugins_folder: str | None = None) -> Namespace:
    """The namespace of DAG files imported from ``folders`` (first on ``sys.path``, in order),
    of which ``plugins_folder`` (if given) is the plugins folder."""
    key = tuple(folders)
    found = _namespaces.get(key)
    if found is None:
        found = _namespaces[key] = Namespace(key, plugins_folder)
    return found


def refresh(namespace: Namespace) -> None:
    """Look at the namespace's folders again, as a DAG file is imported into it (a new
    version, perhaps with new helpers): a module whose file changed since it was imported is
    let go, to be imported anew; and, if the folders changed, which of their top-level
    modules a shared one may also have."""
    _drop_changed(namespace)
    stamps = tuple(_mtime(folder) for folder in namespace.folders)
    if stamps == namespace.stamps:
        return
    namespace.stamps = stamps
    names: set[str] = set()
    for folder in namespace.folders:
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(".py"):
                names.add(entry[:-3])
            elif os.path.isfile(os.path.join(folder, entry, "__init__.py")):
                names.add(entry)
    process_path = _entered.path if _entered is not None else sys.path
    shared = [p for p in process_path if p not in namespace.folders]
    # Asking the import system about each name cost a parse child 1,000 lookups in a folder
    # of 1,000 DAG files (a third of its time): only the names some shared folder lists are
    # asked about.
    listed = _listed_names(shared)
    namespace.shadows = frozenset(
        name
        for name in names
        if name in sys.builtin_module_names
        or ((listed is None or name in listed) and _found_in(name, shared))
    )


def _listed_names(entries: Sequence[str]) -> set[str] | None:
    """Every name a module found on ``entries`` could have (each entry's file and folder
    names up to their first dot: a superset); None when an entry is not a folder that can
    be listed (a zip archive), so that every name is asked about."""
    names: set[str] = set()
    for entry in entries:
        try:
            found = os.listdir(entry or ".")
        except FileNotFoundError:
            continue  # nothing is found on a folder that is not there
        except OSError:
            return None
        names.update(item.partition(".")[0] for item in found)
    return names


def _found_in(name: str, entries: Sequence[str]) -> bool:
    return importlib.machinery.PathFinder.find_spec(name, list(entries)) is not None


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


def _mtime(folder: str) -> int:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return -1


def enter(namespace: Namespace) -> None:
    """Make ``namespace``'s modules the ones ``import`` finds, leaving any other first."""
    global _entered, _baseline
    if _entered is not None:
        if _entered.namespace is namespace:
            return
        leave()
    if _baseline is None:
        _baseline = frozenset(sys.modules)
    _install_finder()
    entered = _Entered(namespace)
    for name in namespace.shadows:
        shared = sys.modules.get(name)
        if shared is not None and name not in _baseline and name not in namespace.modules:
            entered.hidden[name] = sys.modules.pop(name)
    for name, module in namespace.modules.items():
        shared = sys.modules.get(name)
        if shared is not None and shared is not module:
            entered.hidden[name] = shared
    sys.modules.update(namespace.modules)
    sys.path[:0] = namespace.folders
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
