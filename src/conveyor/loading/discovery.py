"""Which files of a DAG folder are DAG files, as Airflow finds them.

A file is looked at unless an ``.airflowignore`` rule ignores it or a folder above it
(``ignore``), or its name starts with ``.`` or ``_``. Of those:

- a Python file is a DAG file when its text mentions ``conveyor`` or ``airflow`` (the latter
  with the setting ``airflow_compat`` on) and ``dag`` or ``asset``, in any case: Airflow 3.3's
  heuristic. With ``dag_discovery_safe_mode`` off, every Python file is;
- a YAML file is a DAG file when it is a Conveyor pipeline: a line ``dags:`` at the start of a
  line, its top-level key (docs/yaml.md). A dbt project's ``dbt_project.yml``, dag-factory's
  configs or CI files are not, and are skipped silently, as Airflow skips every YAML file.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from conveyor.airflow_compat.ignore import Rule, Syntax, is_ignored, read_rules

YAML_SUFFIXES = (".yaml", ".yml")
#: Loader per file suffix: "module:function" taking a path and returning its DAGs.
LOADERS: dict[str, str] = {
    ".py": "conveyor.loading.importer:import_dag_file",
    ".yaml": "conveyor.loading.yaml.loader:load_yaml_dags",
    ".yml": "conveyor.loading.yaml.loader:load_yaml_dags",
}

#: A Python file must mention one of these (lower-cased) to be parsed in safe mode...
OWNER_WORDS: Final = ("conveyor",)
AIRFLOW_OWNER_WORDS: Final = ("airflow",)
#: ... and one of these.
DEFINITION_WORDS: Final = ("dag", "asset")
#: A Conveyor pipeline's top-level key, at the start of a line (quoted or not).
_PIPELINE_KEY = re.compile(r"""^(dags|"dags"|'dags')[ \t]*:""", re.MULTILINE)


@dataclass(frozen=True)
class Discovery:
    """The settings that decide which files are DAG files."""

    airflow: bool = True
    safe_mode: bool = True
    ignore_syntax: Syntax = "glob"


_VARIABLES = (
    "CONVEYOR_AIRFLOW_COMPAT",
    "CONVEYOR_DAG_DISCOVERY_SAFE_MODE",
    "CONVEYOR_DAG_IGNORE_FILE_SYNTAX",
    "AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE",
    "AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX",
)


def current_discovery() -> Discovery:
    """The settings as this process's configuration gives them; read again only when a
    variable that sets them, the home or the configuration file's modification time change
    (the folder is scanned every second)."""
    from conveyor.config import config_file_stamp

    config_file, stamp = config_file_stamp(os.environ)
    variables = tuple(os.environ.get(name, "") for name in _VARIABLES)
    return _read_discovery(variables, config_file, stamp)


@functools.lru_cache(maxsize=16)
def _read_discovery(_variables: tuple[str, ...], _file: str, _stamp: int | None) -> Discovery:
    from conveyor.config import load_config

    settings = load_config().settings
    return Discovery(
        settings.airflow_compat, settings.dag_discovery_safe_mode, settings.dag_ignore_file_syntax
    )


def find_dag_files(folder: Path, discovery: Discovery | None = None) -> list[Path]:
    """The DAG files under ``folder``, in scan order (see the module's docstring).

    ``folder`` may also be one file, which is then the only DAG file (``conveyor run FILE``).
    """
    if folder.is_file():
        return [folder] if folder.suffix in LOADERS else []
    discovery = discovery or current_discovery()
    return [p for p in candidate_files(folder, discovery) if is_dag_file(p, discovery)]


def candidate_files(folder: Path, discovery: Discovery | None = None) -> list[Path]:
    """Files under ``folder`` that may be DAG files, by name alone: hidden and ``_`` names
    and what ``.airflowignore`` files ignore are skipped; ``folder`` may be one file."""
    return [Path(path) for path in candidate_stats(folder, discovery)]


def candidate_stats(folder: Path, discovery: Discovery | None = None) -> dict[str, tuple[int, int]]:
    """:func:`candidate_files`, each with its (mtime_ns, size), folder by folder in name
    order. Looked at every ``dag_scan_seconds``: the stats come from ``scandir``'s entries,
    a third of the cost of a ``Path`` and its ``stat()`` for each of 1,000 files."""
    found: dict[str, tuple[int, int]] = {}
    if folder.is_file():  # one file (``conveyor run FILE``): the only candidate
        with contextlib.suppress(OSError):  # removed since
            if folder.suffix in LOADERS:
                st = folder.stat()
                found[str(folder)] = (st.st_mtime_ns, st.st_size)
        return found
    syntax = (discovery or current_discovery()).ignore_syntax
    _add_candidate_stats(str(folder), str(folder), syntax, (), found)
    return found


def listed_files(folder: Path, syntax: Syntax) -> list[str]:
    """Every file under ``folder`` that no ``.airflowignore`` rule ignores (hidden and ``_``
    names skipped), whatever its suffix: the plugins folder's files, as Airflow lists them."""
    found: dict[str, tuple[int, int]] = {}
    _add_candidate_stats(str(folder), str(folder), syntax, (), found)
    return list(found)


def _add_candidate_stats(
    folder: str,
    root: str,
    syntax: Syntax,
    inherited: tuple[Rule, ...],
    found: dict[str, tuple[int, int]],
) -> None:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return
    rules = inherited + read_rules(folder, root, syntax)
    subfolders = []
    for entry in entries:
        if entry.name.startswith((".", "_")):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if not (rules and is_ignored(entry.path, True, rules)):
                    subfolders.append(entry.path)
                continue
            if entry.is_dir():  # a link to a folder is not followed
                continue
            st = entry.stat()  # a broken link fails here, and is no candidate
        except OSError:
            continue
        if rules and is_ignored(entry.path, False, rules):
            continue
        found[entry.path] = (st.st_mtime_ns, st.st_size)
    for subfolder in subfolders:
        _add_candidate_stats(subfolder, root, syntax, rules, found)


def is_dag_file(path: Path, discovery: Discovery | None = None) -> bool:
    """Whether a candidate file is a DAG file, by its suffix and text."""
    if path.suffix in YAML_SUFFIXES:
        return is_pipeline_file(path)
    return looks_like_dag_file(path, discovery or current_discovery())


def looks_like_dag_file(path: Path, discovery: Discovery) -> bool:
    """A Python file that mentions conveyor (or airflow) and dag (or asset), any case."""
    if path.suffix != ".py":
        return False
    if not discovery.safe_mode:
        return path.is_file()
    try:
        text = path.read_bytes().lower()
    except OSError:
        return False
    owners = OWNER_WORDS + (AIRFLOW_OWNER_WORDS if discovery.airflow else ())
    if not any(word.encode() in text for word in owners):
        return False
    return any(word.encode() in text for word in DEFINITION_WORDS)


def is_pipeline_file(path: Path) -> bool:
    """A YAML file whose top-level key ``dags`` makes it a Conveyor pipeline."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return _PIPELINE_KEY.search(text) is not None
