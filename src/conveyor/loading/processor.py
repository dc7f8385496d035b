"""Finding DAG files and parsing each in a process of its own, with a time limit.

A file that hangs, crashes the interpreter or calls ``sys.exit`` at import becomes an import
error for that file alone; the scheduler keeps scheduling everything else meanwhile, because
parsing is polled, never waited on. Files are found by a cheap stat scan every
``dag_scan_seconds``, so a new file shows up within about a second.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from conveyor import airflow_compat
from conveyor._processes import adopt_environment, fork_context
from conveyor.exceptions import DagImportError
from conveyor.loading import shipping
from conveyor.loading.importer import import_dag_file, looks_like_dag_file, read_source
from conveyor.store import dags as dag_store
from conveyor.store.dags import ParsedFile
from conveyor.store.engine import Store

log = logging.getLogger(__name__)

YAML_SUFFIXES = (".yaml", ".yml")
#: Loader per file suffix: "module:function" taking a path and returning its DAGs.
LOADERS: dict[str, str] = {
    ".py": "conveyor.loading.importer:import_dag_file",
    ".yaml": "conveyor.loading.yaml.loader:load_yaml_dags",
    ".yml": "conveyor.loading.yaml.loader:load_yaml_dags",
}


def find_dag_files(folder: Path) -> list[Path]:
    """DAG files under ``folder``: Python files that mention conveyor and dag (or airflow and
    dag, with the setting airflow_compat on), and YAML files.

    ``folder`` may also be one file, which is then the only DAG file (``conveyor run FILE``).
    """
    airflow = airflow_compat.enabled()
    if folder.is_file():
        return [folder] if folder.suffix in LOADERS else []
    if not folder.is_dir():
        return []
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for name in sorted(files):
            if name.startswith((".", "_")):
                continue
            path = Path(root) / name
            is_yaml = path.suffix in YAML_SUFFIXES and path.suffix in LOADERS
            if is_yaml or looks_like_dag_file(path, airflow=airflow):
                found.append(path)
    return found


def loader_for(path: str) -> Callable[[str], list[Any]]:
    import importlib

    module_name, func = LOADERS[Path(path).suffix].split(":")
    return getattr(importlib.import_module(module_name), func)  # type: ignore[no-any-return]


def parse_file(path: str, root: Path | None = None) -> ParsedFile:
    """Load one file in this process and serialize its DAGs (the child's work).

    ``root`` is the DAG folder (default: the file's own folder): the Python modules the file
    loads from it are shipped with its source (see ``shipping``).
    """
    from conveyor.loading.serialize import serialize_dag

    started = time.monotonic()
    try:
        source = read_source(path)
    except OSError as exc:
        return ParsedFile(
            path, "", [], {"line": None, "message": f"cannot read: {exc}", "traceback": None}, 0.0
        )
    helpers: dict[str, str] = {}
    try:
        if Path(path).suffix == ".py":  # run exactly the text that is stored and hashed
            dags = import_dag_file(path, source=source)
        else:
            dags = loader_for(path)(path)
        serialized = [serialize_dag(d) for d in dags]
        error = None
        folder = root if root is not None else Path(path).parent
        helpers = shipping.helper_files(path, folder)
        if helpers:
            shipped = shipping.manifest(path, folder, helpers)
            for data in serialized:
                data[shipping.MANIFEST_KEY] = shipped
    except DagImportError as exc:
        serialized, error = (
            [],
            {"line": exc.line, "message": exc.message, "traceback": exc.traceback},
        )
    except Exception as exc:  # a bug in serialization must still not take others down
        serialized, error = (
            [],
            {"line": None, "message": f"{type(exc).__name__}: {exc}", "traceback": None},
        )
    if error is not None:
        helpers = {}
    root_path = (root if root is not None else Path(path).parent).resolve()
    return ParsedFile(
        path,
        source,
        serialized,
        error,
        time.monotonic() - started,
        helpers={str(root_path / rel): text for rel, text in helpers.items()},
    )


def _parse_child(path: str, pipe: Pipe, environ: dict[str, str], root: Path) -> None:
    adopt_environment(environ)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pipe.send(parse_file(path, root))
    pipe.close()


@dataclass
class _Parsing:
    path: str
    process: Any
    pipe: Pipe
    deadline: float


class DagFileProcessor:
    """Keeps the store's DAGs in step with a folder. Call :meth:`poll` often; it never blocks."""

    def __init__(
        self,
        store: Store,
        folder: Path,
        *,
        timeout: float,
        scan_every: float,
        max_parallel: int = 2,
    ) -> None:
        self.store = store
        self.folder = folder
        self.timeout = timeout
        self.scan_every = scan_every
        self.max_parallel = max_parallel
        self._context = fork_context()
        self._stats: dict[str, tuple[int, int]] = {}
        self._pending: list[str] = []
        self._parsing: dict[int, _Parsing] = {}
        self._next_scan = 0.0
        self._known_hashes: dict[str, str] | None = None

    def busy(self) -> bool:
        return bool(self._pending or self._parsing)

    def poll(self) -> int:
        """Scan if due, start parses, collect finished ones. Returns files saved."""
        if time.monotonic() >= self._next_scan:
            self._scan()
            self._next_scan = time.monotonic() + self.scan_every
        self._start_parses()
        return self._collect(block=0.0)

    def sync(self) -> None:
        """Parse every changed file now and wait for all of them (for the CLI and tests)."""
        self._scan()
        while self.busy():
            self._start_parses()
            self._collect(block=0.05)

    def _scan(self) -> None:
        files = {str(p): p for p in find_dag_files(self.folder)}
        if self._known_hashes is None:  # first scan: compare with what the store has
            with self.store.read() as conn:
                self._known_hashes = dag_store.known_files(conn)
            for path in [p for p in self._known_hashes if p not in files and self._owns(p)]:
                with self.store.write() as conn:  # removed while nobody was watching
                    dag_store.forget_file(conn, path)
        for path, p in files.items():
            try:
                st = p.stat()
            except OSError:
                continue
            stat = (st.st_mtime_ns, st.st_size)
            if self._stats.get(path) == stat:
                continue
            self._stats[path] = stat
            known = self._known_hashes.pop(path, None)
            if known is not None and known == _hash_file(p):
                continue  # unchanged since the last time anyone parsed it
            if path not in self._pending and not any(
                j.path == path for j in self._parsing.values()
            ):
                self._pending.append(path)
        for path in [p for p in self._stats if p not in files]:
            del self._stats[path]
            with self.store.write() as conn:
                dag_store.forget_file(conn, path)
            log.info("DAG file removed: %s", path)

    def _root(self) -> Path:
        """The DAG folder whose modules are shipped with the files in it."""
        return self.folder if self.folder.is_dir() else self.folder.parent

    def _owns(self, path: str) -> bool:
        """Whether a stored file belongs to this processor's folder.

        Another folder's DAGs (a standalone serving examples/, a command run with other
        settings) are not this processor's to retire.
        """
        root = self.folder.resolve()
        return Path(path).resolve() == root or root in Path(path).resolve().parents

    def _start_parses(self) -> None:
        while self._pending and len(self._parsing) < self.max_parallel:
            path = self._pending.pop(0)
            receiver, sender = self._context.Pipe(duplex=False)
            process = self._context.Process(
                target=_parse_child,
                args=(path, sender, dict(os.environ), self._root()),
                name="conveyor-parse",
            )
            process.start()
            sender.close()
            self._parsing[receiver.fileno()] = _Parsing(
                path, process, receiver, time.monotonic() + self.timeout
            )

    def _collect(self, block: float) -> int:
        if not self._parsing:
            return 0
        saved = 0
        ready = wait(
            [j.pipe for j in self._parsing.values()]
            + [j.process.sentinel for j in self._parsing.values()],
            timeout=block,
        )
        ready_set = set(ready)
        now = time.monotonic()
        for key, job in list(self._parsing.items()):
            result: ParsedFile | None = None
            if job.pipe in ready_set:
                try:
                    result = job.pipe.recv()
                except (EOFError, OSError):
                    result = None
            if result is None and job.process.sentinel not in ready_set and now < job.deadline:
                continue
            if result is None:
                result = self._failed(job, now >= job.deadline)
            del self._parsing[key]
            job.pipe.close()
            job.process.join(timeout=0.5)
            if job.process.is_alive():
                job.process.kill()
                job.process.join()
            with self.store.write() as conn:
                dag_store.save_parsed_file(conn, result)
            saved += 1
            if result.error:
                log.warning("DAG file %s: %s", result.fileloc, result.error["message"])
        return saved

    def _failed(self, job: _Parsing, timed_out: bool) -> ParsedFile:
        if timed_out:
            job.process.kill()
            message = (
                f"importing the file took longer than {self.timeout:g}s "
                "(parse_timeout_seconds); does it do work at import time?"
            )
        else:
            job.process.join(timeout=1)
            code = job.process.exitcode
            message = f"the process importing the file died (exit status {code})"
        try:
            source = Path(job.path).read_text(errors="replace")
        except OSError:
            source = ""
        return ParsedFile(
            job.path, source, [], {"line": None, "message": message, "traceback": None}, 0.0
        )


def _hash_file(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""
