"""Turning import paths from a YAML file into objects, and objects back into import paths.

A YAML file names Python code by path (``package.module:name``). The module is looked up
first in the YAML file's own folder, then, when the Python path has no module of that name,
in each folder above it, so that a ``helpers`` package at the root of the DAG folder serves
files in any subfolder, as it would serve a Python DAG file beside it.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import traceback
from pathlib import Path
from typing import Any

from conveyor.decorators import TaskFunction
from conveyor.model.task import BaseOperator

#: Module name prefix under which the importer runs Python DAG files (not importable by path).
DAG_MODULE_PREFIX = "conveyor_dags."


class ImportProblem(Exception):
    """An import path that does not lead to an object; the message says why."""


def split_path(path: str) -> tuple[str, str]:
    """'a.b:c.d' -> ('a.b', 'c.d'); 'a.b.c' -> ('a.b', 'c')."""
    if ":" in path:
        module, _, attribute = path.partition(":")
    else:
        module, _, attribute = path.rpartition(".")
    return module, attribute


def _make_importable(top: str, folder: Path) -> None:
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))  # the file's own folder, as for Python DAG files
    if top in sys.modules or _findable(top):
        return
    for parent in folder.parents:
        if (parent / f"{top}.py").is_file() or (parent / top / "__init__.py").is_file():
            sys.path.append(str(parent))
            return


def _findable(name: str) -> bool:
    if importlib.util.find_spec(name) is not None:
        return True
    importlib.invalidate_caches()  # a module written since the folder was last listed
    return importlib.util.find_spec(name) is not None


def import_object(path: str, folder: Path) -> Any:
    """The object an import path names, importing its module if needed."""
    module_name, attribute = split_path(path)
    try:
        _make_importable(module_name.split(".")[0], folder)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            importlib.invalidate_caches()  # as above, for a module new in a known package
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ImportProblem(
            f"cannot import module {module_name!r}: {exc}; it is looked up in the YAML "
            "file's folder, the folders above it and the Python path"
        ) from exc
    except Exception as exc:  # the user's module itself failed while importing
        raise ImportProblem(
            f"importing module {module_name!r} failed: {type(exc).__name__}: {exc}{_where_in(exc)}"
        ) from exc
    found: Any = module
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ImportProblem(f"module {module_name!r} has no attribute {attribute!r}") from None
    return found


def _where_in(exc: BaseException) -> str:
    """' (at helpers/x.py:12)': the user's line that failed, if the traceback shows it."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" (at {exc.filename}:{exc.lineno})"
    ours = str(Path(__file__).parent)
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if "importlib" not in f.filename and not f.filename.startswith(("<", ours))
    ]
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def import_callable(path: str, folder: Path) -> Any:
    found = import_object(path, folder)
    if isinstance(found, TaskFunction):
        found = found.function  # a @task function: its plain function is what runs
    if not callable(found):
        raise ImportProblem(f"{path!r} is a {type(found).__name__}, not a function")
    return found


def import_operator(path: str, folder: Path) -> type[BaseOperator]:
    found = import_object(path, folder)
    if not (isinstance(found, type) and issubclass(found, BaseOperator)):
        raise ImportProblem(
            f"{path!r} is a {type(found).__name__}, not an operator class "
            "(a subclass of conveyor.BaseOperator)"
        )
    return found


def path_of(obj: Any, what: str) -> str:
    """The import path 'module:qualname' that gives back ``obj``; ImportProblem says why not."""
    name = getattr(obj, "__name__", None)
    qualname = getattr(obj, "__qualname__", None) or name
    module_name = getattr(obj, "__module__", None)
    if name == "<lambda>":
        raise ImportProblem(f"its {what} is an inline lambda, which has no import path")
    if qualname is None or module_name is None:
        raise ImportProblem(f"its {what} {obj!r} has no name to import it by")
    if "<locals>" in qualname:
        raise ImportProblem(
            f"its {what} {qualname!r} is defined inside a function, which has no import path"
        )
    if module_name.startswith(DAG_MODULE_PREFIX) or module_name == "__main__":
        raise ImportProblem(
            f"its {what} {qualname!r} is defined in the DAG file itself, which cannot be "
            "imported by path; move it to a module beside the DAG file"
        )
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except Exception:
        raise ImportProblem(
            f"its {what} {qualname!r} cannot be imported back from module {module_name!r}"
        ) from None
    if isinstance(found, TaskFunction):
        found = found.function
    if found is not obj:
        raise ImportProblem(
            f"its {what} {module_name}:{qualname} names another object when imported"
        )
    return f"{module_name}:{qualname}"


def operator_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The keyword arguments an operator class accepts, from its own __init__ to BaseOperator's.

    A subclass's parameter shadows its parent's of the same name (its default wins).
    """
    found: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        init = getattr(init, "__wrapped__", init)
        for name, param in inspect.signature(init).parameters.items():
            if name in ("self", "task_id", "dag"):
                continue
            if param.kind in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD):
                found.setdefault(name, param)
    return found
