"""Get the DAG object of a pinned version inside a worker.

A run pins the DAG version it started with. If the DAG file on this machine still has that
version's source (and its helper modules theirs), it is imported from its own path (so
``__file__`` points where the author expects). Otherwise the source and the helper modules
it shipped with (``shipping``) are taken from the store by hash, written once to
``$CONVEYOR_HOME/code/<bundle>/`` in the same layout as in the DAG folder, and imported from
there: no DAG folder needs copying to workers.

Many processes on one host may write the same bundle at once (a new version's first tries):
each writes its own temporary file and renames it into place, so a reader never sees half a
file and a process that loses the race has nothing to undo.
"""

from __future__ import annotations

import hashlib
import os
import sys
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.config import Settings
from conveyor.exceptions import DagImportError, NotFoundError
from conveyor.loading import namespaces, shipping
from conveyor.loading.importer import import_dag_file, module_name_for, search_folders
from conveyor.loading.namespaces import Namespace
from conveyor.loading.parsing_context import importing_for
from conveyor.loading.processor import loader_for
from conveyor.model.dag import DAG
from conveyor.private_files import PRIVATE_FILE, private_dir
from conveyor.store import pinned_sources, runs
from conveyor.store.engine import Connection
from conveyor.store.pinned_sources import PinnedSource

#: How many DAG versions a process keeps imported. A runner or pool process lives for
#: thousands of tries: past this many versions, the one used least recently is let go (its
#: module too), so a process's memory follows the DAGs it runs now, not every version it
#: ever ran. A version let go is imported again if a try needs it.
KEPT_VERSIONS = 512


@dataclass
class _Version:
    dags: dict[str, DAG]
    module: str | None  # the module its file was imported as (None: not Python)
    namespace: namespaces.Namespace  # where its helper modules are kept


#: The versions this process imported, least recently used first.
_loaded: OrderedDict[str, _Version] = OrderedDict()


def loaded_dag(version_hash: str, dag_id: str) -> DAG | None:
    """The DAG of that version if this process has imported it already (no store access).

    Its namespace is entered: until ``namespaces.leave`` (the try's end), ``import`` finds
    the helper modules of its folder, not another DAG's of the same name."""
    found = _loaded.get(version_hash)
    if found is None:
        return None
    _loaded.move_to_end(version_hash)
    namespaces.enter(found.namespace)
    return found.dags.get(dag_id)


def version_module(version_hash: str) -> str | None:
    """The module name this process imported a kept version's file as (None: not kept, or
    not Python): where a class the file defines is found again, by its own name."""
    found = _loaded.get(version_hash)
    return None if found is None else found.module


def _keep(version_hash: str, dags: list[DAG], module: str | None, space: Namespace) -> None:
    _loaded[version_hash] = _Version({found.dag_id: found for found in dags}, module, space)
    _loaded.move_to_end(version_hash)
    while len(_loaded) > KEPT_VERSIONS:
        _old, old = _loaded.popitem(last=False)
        if old.module is not None:
            sys.modules.pop(old.module, None)
        if all(kept.namespace is not old.namespace for kept in _loaded.values()):
            namespaces.forget(old.namespace)  # a bundle's, or a folder no kept DAG is from


def _file_matches(path: Path, src_hash: str) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == src_hash
    except OSError:
        return False


def write_atomically(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all, under a temporary name of this writer's own."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode())
        os.replace(tmp, path)  # atomic; a concurrent writer's file has the same bytes
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class Folders:
    """This machine's DAG folder and plugins folder (settings ``dags_folder`` and
    ``plugins_folder``): importable when a version's own file is used."""

    dags: Path | None = None
    plugins: Path | None = None


def local_folders(settings: Settings) -> Folders:
    return Folders(settings.dags_folder, settings.plugins_folder)


def _place(
    conn: Connection,
    row: PinnedSource,
    shipped: dict[str, Any] | None,
    cache_dir: Path,
    local: Folders,
) -> tuple[Path, list[str], str | None]:
    """The path to import the version's file from (its own, or one in the code cache), the
    folders its helper modules are imported from (its namespace's), and which of them is the
    plugins folder."""
    original = Path(row.fileloc)
    files = shipped["files"] if shipped else {}
    root: Path | None = None
    if shipped is not None:
        root = original
        for _ in shipping.safe_relative(shipped["path"]).parts:
            root = root.parent
    elif local.dags is not None and local.dags.resolve() in original.resolve().parents:
        root = local.dags
    if _local_files_match(original, row.source_hash, files, root or original.parent, local):
        plugins = local.plugins
        folders = search_folders(str(original), root, plugins)
        on_path = plugins is not None and str(plugins.resolve()) in folders
        return original, folders, str(plugins.resolve()) if on_path and plugins else None
    folder = cache_dir / shipping.bundle_key(row.source_hash, shipped)
    path = folder / (shipping.safe_relative(shipped["path"]) if shipped else original.name)
    wanted = {path: row.source_hash}
    wanted.update({folder / shipping.safe_relative(rel): h for rel, h in files.items()})
    missing = {p: h for p, h in wanted.items() if not _file_matches(p, h)}
    if missing:
        found = pinned_sources.sources(conn, sorted(set(missing.values())))
        found[row.source_hash] = row.source
        for target, src_hash in sorted(missing.items(), key=lambda item: item[0] != path):
            if src_hash not in found:
                raise NotFoundError(f"the shipped module {target.name} is not in the store")
            write_atomically(target, found[src_hash])
    # A bundle is a namespace of its own: its helpers as imported from the DAG file's folder,
    # then from the DAG folder's root (``common.text``), then its plugins, as on the machine
    # that parsed it.
    folders = [str(path.parent), str(folder)] if path.parent != folder else [str(folder)]
    plugins_dir = folder / shipping.PLUGINS_PREFIX.rstrip("/")
    if any(rel.startswith(shipping.PLUGINS_PREFIX) for rel in files):
        folders.append(str(plugins_dir))
        return path, folders, str(plugins_dir)
    return path, folders, None


def _local_files_match(
    original: Path, src_hash: str, files: dict[str, str], root: Path, local: Folders
) -> bool:
    """Whether this machine's DAG file and shipped modules are those of the version."""
    if not _file_matches(original, src_hash):
        return False
    for rel, file_hash in files.items():
        if rel.startswith(shipping.PLUGINS_PREFIX):
            if local.plugins is None:
                return False
            where = local.plugins / rel.removeprefix(shipping.PLUGINS_PREFIX)
        else:
            where = root / rel
        if not _file_matches(where, file_hash):
            return False
    return True


def load_pinned_dag(
    conn: Connection,
    version_hash: str,
    dag_id: str,
    cache_dir: Path,
    local: Folders | None = None,
) -> DAG:
    """The DAG ``dag_id`` as it was in version ``version_hash``; ``local`` is this machine's
    DAG and plugins folders (importable when its own file is the version's)."""
    kept = loaded_dag(version_hash, dag_id)
    if kept is not None:
        return kept
    row = pinned_sources.pinned_source(conn, version_hash)
    if row is None:
        raise NotFoundError(f"DAG version {version_hash[:12]} of {dag_id!r} is not in the store")
    if row.serialized is not None:  # read with the source: the try's record plans with it
        runs.keep_serialized(version_hash, row.serialized)
    shipped = shipping.read_manifest(row.serialized or {})
    path, folders, plugins = _place(conn, row, shipped, cache_dir, local or Folders())
    space = namespaces.for_folders(folders, plugins)
    module = None
    if path.suffix == ".py":
        module = module_name_for(str(path), version_hash)
        # The text at ``path`` is the version's (placed by hash): compiled without a re-read.
        # A file that asks get_parsing_context() may build only this DAG.
        with importing_for(dag_id):
            dags = import_dag_file(
                str(path),
                module_name=module,
                source=row.source,
                folders=folders,
                plugins_folder=plugins,
            )
    else:  # YAML and any other registered form
        namespaces.refresh(space)
        namespaces.enter(space)
        with importing_for(dag_id):
            dags = loader_for(str(path))(str(path))
    for found in dags:
        found.fileloc = row.fileloc
    _keep(version_hash, dags, module, space)
    wanted = loaded_dag(version_hash, dag_id)
    if wanted is None:
        raise DagImportError(row.fileloc, f"the file no longer defines DAG {dag_id!r}")
    return wanted
