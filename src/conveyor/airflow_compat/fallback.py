"""The last step of the import hook: an Airflow name Conveyor does not implement imports,
and refuses at its first real use.

Real folders share helpers: one ``from airflow.utils.session import create_session`` in a
``common/`` module that every DAG imports would, refused at import, fail the whole folder,
while Airflow imports it and only the use is restricted. So a module or name of Airflow's
core (``airflow.sdk``, the standard provider and the 1.10 paths included) that the table
lacks comes as a *stand-in*: a class that can be a base class, an annotation, the second
argument of ``isinstance`` or a default value, and that raises
:class:`AirflowNotProvidedError` with the table's message (the name, what to use instead,
docs/airflow.md) when called, instantiated, used as a decorator or asked for an attribute.

A library that probes (``try: from airflow.x import Y`` / ``except ImportError:``) wants to
know whether the name works here: inside the body of such a ``try`` the hook answers with the
``ImportError`` it raised before, so the library takes its fallback instead of a stand-in
that would break at use. That is how the hook tells the two apart without a copy of
Airflow's surface: outside a probe it cannot tell a name Airflow has from a misspelling, and
the stand-in's message at first use names it either way.

A provider Conveyor ships answers the same way: Airflow with that provider's package imports
every name of it, so a name Conveyor's version lacks (a shared helper's
``from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator``, used only for
some DAGs' ``executor_config``) is a stand-in too, whose message says what the provider has
and how to install Airflow's package of it. Paths of providers Conveyor does not ship still
refuse at import: on Airflow they exist only when their package is installed, and the
refusal says how to install it.
"""

from __future__ import annotations

import ast
import functools
import os
import sys
import types
from typing import Any

__all__ = [
    "AirflowNotProvidedError",
    "is_probing",
    "probed_lines",
    "refuses_at_import",
    "stand_in",
]


class AirflowNotProvidedError(RuntimeError):
    """An Airflow name that imported as a stand-in was used; the message says what to do."""


#: Providers whose paths are part of what Airflow installs with its core.
_CORE_PROVIDERS = ("airflow.providers.standard", "airflow.providers.common.compat")


def refuses_at_import(what: str) -> bool:
    """Whether ``what`` (a module or ``module.name``) is refused at import: a path of a
    provider Conveyor does not ship (Airflow has it only with the provider's package)."""
    if not what.startswith("airflow.providers."):
        from conveyor.airflow_compat import providers_refused

        return providers_refused.refused_provider(what) is not None
    if any(what == p or what.startswith(p + ".") for p in _CORE_PROVIDERS):
        return False
    from conveyor.airflow_compat import table_providers

    return table_providers.provider_of(what) not in table_providers.PROVIDERS


class _Refusing(type):
    """The metaclass of stand-ins: building a class on one works, using one refuses."""

    __conveyor_refusal__: str

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise AirflowNotProvidedError(cls.__conveyor_refusal__)

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):  # copy, typing, pytest ask these
            raise AttributeError(name)
        raise AirflowNotProvidedError(cls.__conveyor_refusal__)

    def __getitem__(cls, item: Any) -> Any:
        return cls  # ``Refused[int]`` in an annotation

    def __repr__(cls) -> str:
        return f"<stand-in for {cls.__conveyor_airflow_name__}: {cls.__conveyor_refusal__}>"


_stand_ins: dict[str, type] = {}


def stand_in(airflow_name: str, message: str) -> type:
    """The stand-in for ``airflow_name`` (the same object each time it is imported)."""
    found = _stand_ins.get(airflow_name)
    if found is None:
        module, _, name = airflow_name.rpartition(".")
        namespace = {
            "__module__": module,
            "__qualname__": name,
            "__doc__": message,
            "__conveyor_airflow_name__": airflow_name,
            "__conveyor_refusal__": message,
        }
        found = _stand_ins[airflow_name] = _Refusing(name, (), namespace)
    return found


class StandInModule(types.ModuleType):
    """What a stand-in module's class becomes: calling it refuses (``from airflow.models
    import clear_task_instances`` may give a module, as a package's lower-case names do)."""

    __conveyor_refusal__ = ""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise AirflowNotProvidedError(self.__conveyor_refusal__)


# -- probes ---------------------------------------------------------------------------------

_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})
_OURS = (os.path.dirname(__file__) + os.sep, os.path.dirname(os.__file__) + os.sep + "importlib")


def is_probing() -> bool:
    """Whether the code importing right now does it in the body of a ``try`` that catches
    ``ImportError`` (or ``ModuleNotFoundError``): a probe with a fallback."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not (filename.startswith("<frozen importlib") or filename.startswith(_OURS)):
            return _line_probes(filename, frame.f_lineno or 0)
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _line_probes(filename: str, line: int) -> bool:
    try:
        stamp = os.stat(filename).st_mtime_ns
    except OSError:
        return False  # code given to exec() as text: no file to read
    return line in _probed_lines(filename, stamp)


@functools.lru_cache(maxsize=256)
def _probed_lines(filename: str, stamp: int) -> frozenset[int]:
    """The lines of a file inside the body of a ``try`` that catches ImportError."""
    try:
        with open(filename, "rb") as handle:
            tree = ast.parse(handle.read(), filename=filename)
    except (OSError, SyntaxError, ValueError):
        return frozenset()
    return probed_lines(tree)


def probed_lines(tree: ast.AST) -> frozenset[int]:
    """The lines of a syntax tree inside the body of a ``try`` that catches ImportError."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try | ast.TryStar) and any(
            _catches_import_error(h.type) for h in node.handlers
        ):
            for statement in node.body:
                lines.update(range(statement.lineno, (statement.end_lineno or 0) + 1))
    return frozenset(lines)


def _catches_import_error(caught: ast.expr | None) -> bool:
    if isinstance(caught, ast.Tuple):
        return any(_catches_import_error(e) for e in caught.elts)
    if isinstance(caught, ast.Name):
        return caught.id in _IMPORT_ERRORS
    if isinstance(caught, ast.Attribute):  # ``builtins.ImportError``
        return caught.attr in _IMPORT_ERRORS
    return False
