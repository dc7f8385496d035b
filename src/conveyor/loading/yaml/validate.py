"""``conveyor dags validate``: check DAG files without running any task.

YAML files go through the YAML loader, Python files are imported as the DAG file processor
would import them (which runs their top-level code, as parsing does, but no task). Every
problem of every file is returned, so one command shows everything there is to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from conveyor.airflow_compat import plugins as airflow_plugins
from conveyor.exceptions import DagImportError
from conveyor.loading import namespaces
from conveyor.loading.processor import LOADERS, find_dag_files, load_file
from conveyor.loading.serialize import serialize_dag
from conveyor.loading.yaml.errors import Problem, YamlDagError
from conveyor.model.dag import DAG

__all__ = ["validate_paths"]

DAG_SUFFIXES = tuple(LOADERS)


def validate_paths(
    paths: Iterable[str], dags_folder: Path | None = None, plugins_folder: Path | None = None
) -> list[Problem]:
    """Problems of the DAG files at ``paths`` (files, or folders searched like the DAG folder).

    An empty list means every file loads. Besides each file's own problems, a DAG id that two
    files define is reported at the second one. A file imports from its folder's root (the
    folder named, or ``dags_folder`` for a file inside it) and from ``plugins_folder``.
    """
    problems: list[Problem] = []
    first_file: dict[str, str] = {}
    try:
        for path, root in _files(paths, problems, dags_folder):
            dags = _load(path, problems, root, plugins_folder)
            for dag in dags:
                earlier = first_file.setdefault(dag.dag_id, path)
                if earlier != path:
                    problems.append(
                        Problem(
                            path,
                            None,
                            None,
                            f"DAG id {dag.dag_id!r} is also defined in {earlier}",
                            dag.dag_id,
                            expected="DAG ids unique across the DAG folder",
                            found="a second definition",
                        )
                    )
    finally:
        # A check, not a load: the caller's process gets its sys.path and modules back (a
        # helper of the last folder left importable would shadow another folder's later).
        namespaces.leave()
    return sorted(problems, key=lambda p: (p.file, p.line or 0, p.column or 0))


def _files(
    paths: Iterable[str], problems: list[Problem], dags_folder: Path | None
) -> list[tuple[str, Path | None]]:
    """Each DAG file with the root of the folder it is in."""
    found: list[tuple[str, Path | None]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend((str(p), path) for p in find_dag_files(path))
        elif path.is_file() and path.suffix in DAG_SUFFIXES:
            inside = dags_folder is not None and dags_folder.resolve() in path.resolve().parents
            # named by the user: checked even without the safe words
            found.append((str(path), dags_folder if inside else None))
        elif path.is_file():
            problems.append(
                Problem(
                    raw,
                    None,
                    None,
                    "not a DAG file",
                    expected=f"a file ending in {', '.join(DAG_SUFFIXES)} or a folder",
                    found=f"a {path.suffix or 'suffix-less'} file",
                )
            )
        else:
            problems.append(Problem(raw, None, None, "no such file or folder"))
    return list(dict.fromkeys(found))


def _load(path: str, problems: list[Problem], root: Path | None, plugins: Path | None) -> list[DAG]:
    # Python files: first everything a read of the source finds (imports, keywords), as an
    # import stops at the first error; the import's own error is added when it is another.
    found = _lint(path) if path.endswith(".py") else []
    try:
        dags = load_file(path, root, plugins)
        for dag in dags:
            serialize_dag(dag)  # what the processor stores must be computable too
    except YamlDagError as exc:
        problems.extend(found)
        problems.extend(exc.problems)
        return []
    except DagImportError as exc:
        problems.extend(found)
        if not any(p.line == exc.line for p in found):
            problems.append(Problem(path, exc.line, None, exc.message))
        return []
    # An ``airflow.operators.<plugin>`` path is a plugin's, which only the import finds.
    made = airflow_plugins.made()
    problems.extend(f for f in found if not f.message.startswith(made))
    problems.extend(_never_runs(path, dags))
    return dags


def _lint(path: str) -> list[Problem]:
    from conveyor.airflow_compat.lint import check_source

    try:
        source = Path(path).read_text(errors="replace")
    except OSError as exc:
        return [Problem(path, None, None, f"cannot read: {exc}")]
    return [Problem(path, f.line, f.column, f.message) for f in check_source(source, path)]


def _never_runs(path: str, dags: list[DAG]) -> list[Problem]:
    """A DAG with a schedule but no start_date is never scheduled: say so, not "ok"."""
    return [
        Problem(
            path,
            None,
            None,
            f"DAG {d.dag_id!r} has a schedule but no start_date, so it never runs on schedule",
            d.dag_id,
            expected="start_date= on the DAG or in its default_args",
            found="none",
        )
        for d in dags
        if d.start_date is None and d.schedule.serialize()["type"] in ("cron", "timedelta", "once")
    ]


def warnings_of(paths: Iterable[str], executor: str = "local") -> list[Problem]:
    """What the Python DAG files at ``paths`` give that Conveyor accepts and ignores (under
    ``executor``): each keyword at its line, with what it does on Airflow, and each Airflow
    name that imports but refuses at first use. Warnings: the files still load."""
    from conveyor.airflow_compat.lint import ignored_keywords, refused_at_use

    found: list[Problem] = []
    for path, _root in _files(paths, [], None):
        if not path.endswith(".py"):
            continue
        try:
            source = Path(path).read_text(errors="replace")
        except OSError:
            continue  # validate_paths reports it
        found.extend(
            Problem(path, f.line, f.column, f.message)
            for f in ignored_keywords(source, executor=executor) + refused_at_use(source)
        )
    return found
