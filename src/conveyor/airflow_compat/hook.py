"""The import hook: ``import airflow...`` gives Conveyor's objects, in processes that import DAGs.

A finder on ``sys.meta_path`` (first, so an Airflow installed in site-packages never shadows
it) answers every ``airflow`` and ``airflow.*`` module with a module built from the table in
``table.py``. Names resolve on first access, so a file pays only for what it imports, and a
name whose Conveyor target is missing fails only in files that import it.

What the table lacks goes to the last step, ``fallback.py``: a name of Airflow's core
imports as a stand-in that refuses at first use, except inside an import probe
(``try: ... except ImportError``), which gets the ``AirflowNameError`` it expects; a
provider's path the table lacks is refused at import, as on Airflow without its package.

Conveyor's own code never imports ``airflow``; without the hook (``airflow_compat = false``),
``import airflow`` finds whatever is installed, or nothing.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

from conveyor.airflow_compat import fallback, installed_providers, plugins, table
from conveyor.airflow_compat.rebinding import RecordedRebinding


class AirflowNameError(ImportError):
    """An Airflow module or name that Conveyor does not provide; the message says what to do."""


class CompatModule(RecordedRebinding):
    """An ``airflow...`` module whose names are looked up in the table on first access; what
    a DAG file rebinds in it lasts until its try ends (``rebinding``)."""

    __conveyor_compat__ = True

    def __getattr__(self, name: str) -> Any:
        module = self.__name__
        target = table.lookup(module, name)
        if name.startswith("__") and target is None:  # ``__version__`` is in the table
            raise AttributeError(name)
        if target is None:
            if table.known_module(f"{module}.{name}"):
                # A submodule: ``airflow.utils.dates.days_ago`` works after ``import airflow``
                # alone, as in Airflow, whose package imports its submodules on the way.
                return importlib.import_module(f"{module}.{name}")
            return self._not_in_table(name)
        value = resolve(target, f"{module}.{name}")
        setattr(self, name, value)  # cached: the next access is a plain attribute
        return value

    def _not_in_table(self, name: str) -> Any:
        module = self.__name__
        message = table.why_missing(module, name)
        if not fallback.refuses_at_import(f"{module}.{name}") and not fallback.is_probing():
            return _stand_in(self, name, message)
        if hasattr(self, "__path__"):
            # A package: ``getattr(airflow, "x", None)`` works as on any module, and
            # ``from airflow import x`` goes on to import airflow.x, which says the same.
            has = ", ".join(table.members(module))
            raise AttributeError(f"{message}; {module} has: {has}", name=name, obj=self)
        raise AirflowNameError(message, name=module)  # ``from`` would hide an AttributeError

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(table.members(self.__name__)))


def resolve(target: str, airflow_name: str) -> Any:
    """The Conveyor object ``"module:attribute"`` stands for, fitted for Airflow callers."""
    from conveyor.providers._extras import MissingExtraError

    module_name, _, attribute = target.partition(":")
    try:
        value = getattr(importlib.import_module(module_name), attribute)
    except MissingExtraError as exc:  # the one line that names the extra to install
        raise AirflowNameError(f"{airflow_name}: {exc}", name=exc.name) from None
    except (ImportError, AttributeError):
        raise AirflowNameError(
            f"{airflow_name} maps to {module_name}.{attribute}, which this installation of "
            f"Conveyor does not have yet (supported names: {table.DOCS})",
            name=airflow_name.rpartition(".")[0],
        ) from None
    from conveyor.airflow_compat.operators import airflow_operator_class
    from conveyor.model.task import BaseOperator

    if isinstance(value, type) and issubclass(value, BaseOperator):
        return airflow_operator_class(value)
    return value


class StandInModule(fallback.StandInModule, CompatModule):
    """A module of Airflow's that the table lacks: its names are stand-ins (``fallback``)."""


def _stand_in(module: CompatModule, name: str, message: str) -> Any:
    """A package's lower-case name is taken for a submodule (Airflow's packages hold
    modules), anything else for a class, function or constant."""
    if hasattr(module, "__path__") and name.islower() and name.isidentifier():
        return importlib.import_module(f"{module.__name__}.{name}")
    return fallback.stand_in(f"{module.__name__}.{name}", message)


class AirflowFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and builds every ``airflow...`` module while installed."""

    def find_spec(
        self, fullname: str, path: Any = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "airflow" and not fullname.startswith("airflow."):
            return None
        installed = installed_providers.find_spec(fullname)  # Airflow's own provider package
        if installed is not None:
            return installed
        # Every module is a package: Airflow has modules below many that the table maps
        # (``airflow.decorators.base``) and plugins' below ``airflow.macros`` and the like.
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return CompatModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        if not table.known_module(module.__name__):
            if plugins.fill(module):  # airflow.operators.<plugin> and the like (1.10)
                module.__doc__ = f"The lists of the Airflow plugin {module.__name__}."
                return
            parent, _, name = module.__name__.rpartition(".")
            message = table.why_missing(parent, name)
            if fallback.refuses_at_import(module.__name__) or fallback.is_probing():
                raise AirflowNameError(message, name=module.__name__)
            module.__class__ = StandInModule
            module.__conveyor_refusal__ = message  # type: ignore[attr-defined]
            module.__doc__ = f"A stand-in for {module.__name__}: {message}"
            return
        module.__doc__ = f"Conveyor's stand-in for {module.__name__} (see {table.DOCS})."


_FINDER = AirflowFinder()


def is_installed() -> bool:
    return _FINDER in sys.meta_path


#: The class name of the finder ``conveyor_airflow.pth`` puts on ``sys.meta_path`` at
#: interpreter start (``src/_conveyor_airflow.py``): it waits for the first ``import
#: airflow`` to install this hook. Once the process installs or removes the hook itself,
#: it has decided, and that finder must not install the hook again behind its back.
STARTUP_FINDER = "ConveyorFirstAirflowImport"


def _drop_startup_finder() -> None:
    if any(type(f).__name__ == STARTUP_FINDER for f in sys.meta_path):
        sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != STARTUP_FINDER]


def install() -> None:
    """Put the finder first, and drop any real Airflow modules imported before it."""
    _drop_startup_finder()
    if sys.meta_path and sys.meta_path[0] is _FINDER:
        return
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    sys.meta_path.insert(0, _FINDER)
    _forget_airflow_modules(keep_ours=True)


def uninstall() -> None:
    """Remove the finder and the modules it made; ``import airflow`` finds the real one again."""
    _drop_startup_finder()
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    _forget_airflow_modules(keep_ours=False)


def _forget_airflow_modules(*, keep_ours: bool) -> None:
    for name in [n for n in sys.modules if n == "airflow" or n.startswith("airflow.")]:
        ours = getattr(sys.modules[name], "__conveyor_compat__", False)
        ours = ours or installed_providers.answered(name)  # a provider package's, found here
        if ours != keep_ours:
            del sys.modules[name]
