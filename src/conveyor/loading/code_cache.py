"""Get the DAG object of a pinned version inside a worker.

A run pins the DAG version it started with. If the DAG file on this machine still has that
version's source, it is imported from its own path (so ``__file__`` points where the author
expects). Otherwise the source is taken from the store by its hash, written once to
``$CONVEYOR_HOME/code/<hash>/`` and imported from there: no DAG folder needs copying to
workers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import Connection, select

from conveyor.exceptions import DagImportError, NotFoundError
from conveyor.loading.importer import import_dag_file, module_name_for
from conveyor.loading.processor import loader_for
from conveyor.model.dag import DAG
from conveyor.store.tables import dag_source, dag_version

_loaded: dict[tuple[str, str], DAG] = {}


def loaded_dag(version_hash: str, dag_id: str) -> DAG | None:
    """The DAG of that version if this process has imported it already (no store access)."""
    return _loaded.get((version_hash, dag_id))


def _file_matches(path: Path, src_hash: str) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == src_hash
    except OSError:
        return False


def load_pinned_dag(conn: Connection, version_hash: str, dag_id: str, cache_dir: Path) -> DAG:
    """The DAG ``dag_id`` as it was in version ``version_hash``."""
    key = (version_hash, dag_id)
    if key in _loaded:
        return _loaded[key]
    row = conn.execute(
        select(dag_source.c.source_hash, dag_source.c.fileloc, dag_source.c.source)
        .join(dag_version, dag_version.c.source_hash == dag_source.c.source_hash)
        .where(dag_version.c.version_hash == version_hash)
    ).first()
    if row is None:
        raise NotFoundError(f"DAG version {version_hash[:12]} of {dag_id!r} is not in the store")
    original = Path(row.fileloc)
    if _file_matches(original, row.source_hash):
        path = original
    else:
        folder = cache_dir / row.source_hash
        path = folder / original.name
        if not _file_matches(path, row.source_hash):
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(row.source.encode())
            tmp.replace(path)  # atomic, so a concurrent worker never imports half a file
    if path.suffix == ".py":
        dags = import_dag_file(str(path), module_name=module_name_for(str(path), version_hash))
    else:  # YAML and any other registered form
        dags = loader_for(str(path))(str(path))
    for found in dags:
        found.fileloc = row.fileloc
        _loaded[(version_hash, found.dag_id)] = found
    if key not in _loaded:
        raise DagImportError(row.fileloc, f"the file no longer defines DAG {dag_id!r}")
    return _loaded[key]
