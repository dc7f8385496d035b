"""Import one DAG file in this process and collect the DAGs it defines.

A file defines the DAGs its module's globals name and those used as a context manager while
it runs (``with DAG(...)``, a called ``@dag`` function), as Airflow finds them: a DAG built
without ``with`` and dropped (a factory that caught its own error) is not one of them.
A failure becomes a ``DagImportError`` that points at the line in the user's file, not at
our loader.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from conveyor.airflow_compat import activate
from conveyor.exceptions import DagImportError, parsed_by
from conveyor.loading import discovery, namespaces
from conveyor.model.context import DagContext
from conveyor.model.dag import DAG
from conveyor.model.timetable_protocol import before_class_import

# A user's timetable class, imported where its DAG file is not (the scheduler, a manual run's
# interval), may subclass airflow.timetables.base.Timetable: the hook must be on for it.
before_class_import(activate)


def looks_like_dag_file(path: Path, *, airflow: bool = False) -> bool:
    """A Python file mentioning conveyor (with ``airflow``, also airflow) and dag or asset:
    ``discovery``'s heuristic in safe mode."""
    return discovery.looks_like_dag_file(path, discovery.Discovery(airflow=airflow))


def read_source(path: str) -> str:
    """A DAG file's text, as it is stored and hashed (bytes that are not UTF-8 replaced)."""
    return Path(path).read_bytes().decode("utf-8", errors="replace")


def module_name_for(path: str, tag: str = "") -> str:
    digest = hashlib.sha1(f"{path}{tag}".encode()).hexdigest()[:12]
    stem = "".join(c if c.isalnum() else "_" for c in Path(path).stem)
    return f"conveyor_dags.{stem}_{digest}"


def search_folders(path: str, root: Path | None = None, plugins: Path | None = None) -> list[str]:
    """The folders a DAG file's imports look in first, as Airflow's ``sys.path`` has them:
    the file's own folder, the DAG folder's ``root`` (``common.helpers`` from a file in a
    subfolder) and the ``plugins`` folder, those that exist, each once."""
    folders = [str(Path(path).resolve().parent)]
    for extra in (root, plugins):
        if extra is not None and extra.is_dir():
            resolved = str(extra.resolve())
            if resolved not in folders:
                folders.append(resolved)
    return folders


@dataclass
class ImportErrorInfo:
    fileloc: str
    line: int | None
    message: str
    traceback: str


def describe_failure(path: str, exc: BaseException) -> ImportErrorInfo:
    """Locate an exception raised while importing ``path`` in the user's own file."""
    real = os.path.realpath(path)
    line: int | None = None
    if isinstance(exc, SyntaxError) and exc.filename and os.path.realpath(exc.filename) == real:
        line = exc.lineno
        message = f"{type(exc).__name__}: {exc.msg} ({parsed_by()})"
    else:
        for frame in traceback.extract_tb(exc.__traceback__):
            if os.path.realpath(frame.filename) == real:
                line = frame.lineno  # the last frame in the file is where it went wrong
        message = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, SyntaxError):  # in a module the file imports
            message += f" ({parsed_by()})"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "importlib" not in f.filename]
    text = "".join(traceback.format_list(frames)) + "".join(
        traceback.format_exception_only(type(exc), exc)
    )
    return ImportErrorInfo(fileloc=path, line=line, message=message, traceback=text)


def import_dag_file(
    path: str,
    *,
    module_name: str | None = None,
    source: str | None = None,
    folders: Sequence[str] | None = None,
    plugins_folder: str | None = None,
) -> list[DAG]:
    """Run a DAG file and return its DAGs; raise DagImportError on any failure.

    ``source`` is the file's text as the caller read (and hashed) it; by default the file is
    read now. The text itself is compiled, never a cached ``.pyc``: a file rewritten within
    the same second at the same size would otherwise run the old bytecode.

    The file runs in the namespace of ``folders`` (by default its own folder; see
    :func:`search_folders`), which is left entered: its helper modules are found there, apart
    from other folders' (``namespaces``). ``plugins_folder`` is the one of them whose
    ``AirflowPlugin`` classes ``airflow.operators.<plugin>`` and the like find.
    """
    activate()  # `import airflow...` resolves to Conveyor unless airflow_compat is off
    space = namespaces.for_folders(folders or search_folders(path), plugins_folder)
    namespaces.refresh(space)
    namespaces.enter(space)  # let DAG files import helper modules beside them
    name = module_name or module_name_for(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DagImportError(path, "not a Python file that can be imported")
    module = importlib.util.module_from_spec(spec)
    created_before = len(DagContext.created)
    entered_before = len(DagContext.entered)
    sys.modules[name] = module
    try:
        text = source if source is not None else read_source(path)
        # The text keeps a leading byte order mark (it is hashed as the file's bytes are);
        # Python skips one when it reads a file, so it is skipped here too.
        code = compile(text.removeprefix("\ufeff"), path, "exec", dont_inherit=True)
        exec(code, module.__dict__)
    except BaseException as exc:  # a DAG file may even call sys.exit()
        sys.modules.pop(name, None)
        del DagContext.created[created_before:]
        del DagContext.entered[entered_before:]
        info = describe_failure(path, exc)
        raise DagImportError(path, info.message, info.line, info.traceback) from exc
    finally:
        DagContext._stack.clear()  # a file that failed inside "with DAG" leaves it open
    created = DagContext.created[created_before:]
    del DagContext.created[created_before:]
    entered = DagContext.entered[entered_before:]
    del DagContext.entered[entered_before:]
    dags = defined_dags(created, entered, module.__dict__.values())
    seen: dict[str, DAG] = {}
    for found in dags:
        if found.dag_id in seen and seen[found.dag_id] is not found:
            raise DagImportError(path, f"DAG id {found.dag_id!r} is defined twice in this file")
        found.fileloc = path
        seen[found.dag_id] = found
    return list(seen.values())


def defined_dags(
    created: Sequence[DAG], entered: Sequence[DAG], names: Iterable[object]
) -> list[DAG]:
    """The DAGs a file defines, in the order they were made: those its globals name and
    those it ``entered`` (auto-registered, ``auto_register=False`` aside)."""
    named = {id(value): value for value in names if isinstance(value, DAG)}
    defined = {id(dag) for dag in entered} | set(named)
    ordered = [dag for dag in created if id(dag) in defined]
    made_here = {id(dag) for dag in created}
    # A DAG a helper module made before this file ran, which the file imports by name.
    ordered.extend(dag for key, dag in named.items() if key not in made_here)
    return ordered
