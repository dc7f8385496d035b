"""Every Airflow import and keyword of a Python DAG file that Conveyor would refuse, at once.

Importing a file stops at its first error; ``conveyor dags validate`` wants them all. This pass
reads the file's syntax tree without running it: each ``airflow...`` import is checked against
the table (and its Conveyor target must exist), each ``from conveyor... import`` name must
exist, and keywords Airflow takes but Conveyor refuses, or spells differently, are reported
with what to write instead. Each finding carries its line and column.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from dataclasses import dataclass

from conveyor.airflow_compat import fallback, installed_providers, table
from conveyor.exceptions import parsed_by
from conveyor.providers._extras import MissingExtraError

#: In files that do not import airflow: Airflow's spelling, Conveyor's spelling.
CONVEYOR_SPELLING = {
    "schedule_interval": "write schedule= (Conveyor's name for it)",
    "concurrency": "write max_active_tasks=",
    "provide_context": "remove it: the context reaches a callable that asks for it",
}


@dataclass(frozen=True)
class Finding:
    line: int
    column: int
    message: str
    #: A name that imports and refuses at first use (``fallback``): the file still loads.
    warning: bool = False


def _not_in_table(what: str, message: str) -> tuple[str, bool]:
    """The finding's text for a name the table lacks, and whether it is only a warning."""
    if fallback.refuses_at_import(what):
        return message, False
    return f"{message}; it imports, and refuses at its first use", True


def _target_exists(target: str) -> bool:
    module_name, _, attribute = target.partition(":")
    try:
        return hasattr(importlib.import_module(module_name), attribute)
    except MissingExtraError:
        raise
    except ImportError:
        return False


def _installed(module: str) -> bool:
    """Whether the module comes from an installed Airflow provider package."""
    return installed_providers.find_spec(module) is not None


def _check_airflow_name(module: str, name: str) -> str | None:
    if _installed(module):
        return None  # an installed provider package's module: its names are its own
    target = table.lookup(module, name)
    if target is None:
        if table.known_module(f"{module}.{name}"):
            return None  # a submodule
        return table.why_missing(module, name)
    try:
        exists = _target_exists(target)
    except MissingExtraError as exc:
        return f"{module}.{name}: {exc}"
    if not exists:
        return (
            f"{module}.{name} maps to {target.replace(':', '.')}, which this installation of "
            f"Conveyor does not have yet (supported names: {table.DOCS})"
        )
    return None


def _check_module(module: str) -> str | None:
    if _installed(module):
        return None
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if not table.known_module(prefix):
            parent, _, name = prefix.rpartition(".")
            return table.why_missing(parent, name) if parent else table.why_missing(prefix)
    return None


def _found(node: ast.stmt, what: str, message: str) -> Finding:
    text, warning = _not_in_table(what, message)
    return Finding(node.lineno, node.col_offset + 1, text, warning)


def _imports(tree: ast.Module) -> list[Finding]:
    found: list[Finding] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "airflow" or alias.name.startswith("airflow."):
                    problem = _check_module(alias.name)
                    if problem:
                        found.append(_found(node, alias.name, problem))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = node.module
            if module == "airflow" or module.startswith("airflow."):
                if _check_module(module):  # say which names the line wanted, in full
                    found.extend(
                        _found(node, f"{module}.{a.name}", table.why_missing(module, a.name))
                        for a in node.names
                    )
                    continue
                for alias in node.names:
                    problem = _check_airflow_name(module, alias.name)
                    if problem:
                        found.append(_missing_or_unmapped(node, module, alias.name, problem))
            elif module == "conveyor" or module.startswith("conveyor."):
                found.extend(_conveyor_names(node, module))
    return found


def _missing_or_unmapped(node: ast.stmt, module: str, name: str, problem: str) -> Finding:
    """A name the table lacks (a warning unless a provider's) or whose target is missing."""
    if table.lookup(module, name) is None:
        return _found(node, f"{module}.{name}", problem)
    return Finding(node.lineno, node.col_offset + 1, problem)


def _conveyor_names(node: ast.ImportFrom, module: str) -> list[Finding]:
    try:
        imported = importlib.import_module(module)
    except ImportError:
        return [Finding(node.lineno, node.col_offset + 1, f"no module {module!r} in Conveyor")]
    return [
        Finding(node.lineno, node.col_offset + 1, f"{module} has no name {alias.name!r}")
        for alias in node.names
        if alias.name != "*"
        and not hasattr(imported, alias.name)
        and not _is_submodule(f"{module}.{alias.name}")
    ]


def _is_submodule(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _keywords(tree: ast.Module, airflow_file: bool) -> list[Finding]:
    refused = table.REFUSED_KEYWORDS if airflow_file else {**CONVEYOR_SPELLING}
    found: list[Finding] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        names = {k.arg for k in node.keywords if k.arg}
        for keyword in node.keywords:
            if keyword.arg in refused:
                message = f"keyword {keyword.arg}= is not taken by Conveyor: {refused[keyword.arg]}"
                found.append(Finding(keyword.lineno, keyword.col_offset + 1, message))
        for older in ("schedule_interval", "timetable"):
            if airflow_file and {"schedule", older} <= names:
                found.append(
                    Finding(
                        node.lineno,
                        node.col_offset + 1,
                        f"both schedule= and {older}= are given; keep schedule=",
                    )
                )
    return found


#: Calls where a "on a task" keyword means the DAG's own (start_date= of the DAG).
_NOT_TASKS = frozenset({"DAG", "dag", "dict"})


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def ignored_keywords(
    source: str, filename: str = "<dag file>", executor: str = "local"
) -> list[Finding]:
    """Keywords the file gives that Conveyor takes and ignores under ``executor``
    (``table.ignored_keywords``), each with what it would have done on Airflow: warnings, not
    errors. Only in files that import airflow (elsewhere the same names may be another
    library's)."""
    try:
        tree = ast.parse(source.removeprefix("\ufeff"), filename=filename)
    except SyntaxError:
        return []  # check_source reports it
    if not _imports_airflow(tree):
        return []
    ignored = table.ignored_keywords(executor)
    found: list[Finding] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            note = ignored.get(keyword.arg or "")
            if note is None or (note.startswith("on a task") and _call_name(node) in _NOT_TASKS):
                continue
            meaning = table.AIRFLOW_MEANING.get(keyword.arg or "", "has an effect")
            message = (
                f"keyword {keyword.arg}= is {note.removeprefix('on a task: ')}; "
                f"on Airflow it {meaning}"
            )
            found.append(Finding(keyword.lineno, keyword.col_offset + 1, message))
    return sorted(set(found), key=lambda f: (f.line, f.column, f.message))


def _imports_airflow(tree: ast.Module) -> bool:
    return any(
        (isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "airflow")
        or (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "airflow" for a in n.names))
        for n in ast.walk(tree)
    )


def check_source(source: str, filename: str = "<dag file>") -> list[Finding]:
    """Every finding of the file, in line order; a syntax error is the one finding then."""
    try:
        # A byte order mark opens files saved by some Windows editors; Python skips it.
        tree = ast.parse(source.removeprefix("\ufeff"), filename=filename)
    except SyntaxError as exc:
        message = f"SyntaxError: {exc.msg} ({parsed_by()})"
        return [Finding(exc.lineno or 1, exc.offset or 1, message)]
    airflow_file = _imports_airflow(tree)
    findings = [f for f in _imports(tree) if not f.warning] + _keywords(tree, airflow_file)
    return sorted(set(findings), key=lambda f: (f.line, f.column, f.message))


def refused_at_use(source: str, filename: str = "<dag file>") -> list[Finding]:
    """Airflow names the file imports that Conveyor gives as stand-ins refusing at first use
    (``fallback``): warnings, each at its line; imports inside a probe (``try: ... except
    ImportError``) are left out, as the hook answers them with ImportError."""
    try:
        tree = ast.parse(source.removeprefix("\ufeff"), filename=filename)
    except SyntaxError:
        return []  # check_source reports it
    probed = fallback.probed_lines(tree)
    found = [f for f in _imports(tree) if f.warning and f.line not in probed]
    return sorted(set(found), key=lambda f: (f.line, f.column, f.message))
