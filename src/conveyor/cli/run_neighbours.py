"""``conveyor run FILE``: parse the folder's files that define the DAGs the run needs.

A DAG folder is written for a scheduler that parses every file, so a trigger or an external
task sensor may name a DAG of another file. After FILE is parsed and the DAG to run is
chosen, the DAGs its tasks trigger or wait for (and, in turn, those of the DAGs triggered)
are looked for in FILE's folder: only the files that mention their ids are parsed.
"""

from __future__ import annotations

from pathlib import Path

from conveyor.cli.common import console
from conveyor.config import Settings
from conveyor.loading.builder import processor_for
from conveyor.loading.neighbours import References, files_naming, references
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.reads import dags as dag_reads


def _references(store: Store, dag_id: str) -> References:
    with store.read() as conn:
        _version, structure = runs.latest_version(conn, dag_id)
    return references(structure)


def _parse(config: Settings, store: Store, path: Path) -> None:
    # The throwaway store of `conveyor run`: nothing paused.
    processor_for(config, store, target=path, throwaway=True).sync()
    with store.read() as conn:
        errors = [e for e in dag_reads.import_errors(conn) if Path(e.fileloc) == path]
    for error in errors:
        where = f"{error.fileloc}:{error.line}" if error.line else error.fileloc
        console.print(f"note: {where} fails to load: {error.message}", markup=False)


def add_neighbours(config: Settings, store: Store, file: Path, dag_id: str) -> dict[str, list[str]]:
    """Parse what ``dag_id`` (of ``file``) triggers or waits for, from ``file``'s folder.
    Returns the DAGs its sensors wait for, each with the ids of the tasks that wait."""
    parsed = {file}
    wanted = _references(store, dag_id)
    todo, seen = [wanted], {dag_id}
    while todo:
        found = todo.pop()
        with store.read() as conn:
            known = set(dag_reads.active_dag_ids(conn))
        for path in files_naming(file.parent, found.dag_ids - known, skip=parsed):
            _parse(config, store, path)
            parsed.add(path)
        with store.read() as conn:
            known = set(dag_reads.active_dag_ids(conn))
        for missing in sorted(found.dag_ids - known):
            console.print(
                f"note: no file in {file.parent} defines DAG {missing!r}, which a task of "
                "this run triggers or waits for",
                markup=False,
            )
        for triggered in sorted((found.triggered & known) - seen):
            seen.add(triggered)  # a triggered DAG runs: what it needs is needed too
            todo.append(_references(store, triggered))
    return {other: tasks for other, tasks in wanted.awaited.items() if other in known}
