"""Finding DAG files and parsing each in a process of its own, with a time limit.

A file that hangs, crashes the interpreter or calls ``sys.exit`` at import becomes an import
error for that file alone; the scheduler keeps scheduling everything else meanwhile, because
parsing is polled: each loop takes in parsed files for at most ``dag_parse_loop_seconds``, with
up to ``dag_parse_processes`` files parsing at once. Files are found by a cheap stat scan every
``dag_scan_seconds``, so a new file shows up within about a second; a file is read again only
when its size or modification time changed, and parsed again only when its text did.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import time
from collections import deque
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
    if folder.is_file():
        return [folder] if folder.suffix in LOADERS else []
    airflow = airflow_compat.enabled()
    return [p for p in candidate_files(folder) if _is_dag_file(p, airflow=airflow)]


def candidate_files(folder: Path) -> list[Path]:
    """Files under ``folder`` that may be DAG files, by name alone (hidden and ``_`` names are
    skipped); ``folder`` may be one file."""
    if folder.is_file():
        return [folder] if folder.suffix in LOADERS else []
    if not folder.is_dir():
        return []
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for name in sorted(files):
            if not name.startswith((".", "_")):
                found.append(Path(root) / name)
    return found


def _is_dag_file(path: Path, *, airflow: bool) -> bool:
    if path.suffix in YAML_SUFFIXES and path.suffix in LOADERS:
        return True
    return looks_like_dag_file(path, airflow=airflow)


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
    """Keeps the store's DAGs in step with a folder. Call :meth:`poll` often; it returns
    within about ``loop_budget`` seconds."""

    def __init__(
        self,
        store: Store,
        folder: Path,
        *,
        timeout: float,
        scan_every: float,
        max_parallel: int = 2,
        loop_budget: float = 0.5,
    ) -> None:
        self.store = store
        self.folder = folder
        self.timeout = timeout
        self.scan_every = scan_every
        self.max_parallel = max_parallel
        self.loop_budget = loop_budget
        self._context = fork_context()
        self._stats: dict[str, tuple[int, int]] = {}
        #: path -> (size and mtime, whether it is a DAG file): files are read only on change.
        self._candidates: dict[str, tuple[tuple[int, int], bool]] = {}
        self._pending: deque[str] = deque()
        self._parsing: dict[int, _Parsing] = {}
        self._next_scan = 0.0
        self._known_hashes: dict[str, str] | None = None

    def busy(self) -> bool:
        return bool(self._pending or self._parsing)

    def poll(self) -> int:
        """Scan if due, then start parses and take in finished ones until none are left or
        ``loop_budget`` seconds have passed. Returns files saved."""
        started = time.monotonic()
        if started >= self._next_scan:
            self._scan()
            self._next_scan = time.monotonic() + self.scan_every
        saved = 0
        while True:
            self._start_parses()
            left = self.loop_budget - (time.monotonic() - started)
            saved += self._collect(block=max(left, 0.0))
            if not self.busy() or time.monotonic() - started >= self.loop_budget:
                return saved

    def sync(self) -> None:
        """Parse every changed file now and wait for all of them (for the CLI and tests)."""
        self._scan()
        while self.busy():
            self._start_parses()
            self._collect(block=0.05)

    def _scan(self) -> None:
        files = self._dag_files()
        if self._known_hashes is None:  # first scan: compare with what the store has
            with self.store.read() as conn:
                self._known_hashes = dag_store.known_files(conn)
            for path in [p for p in self._known_hashes if p not in files and self._owns(p)]:
                with self.store.write() as conn:  # removed while nobody was watching
                    dag_store.forget_file(conn, path)
        queued = set(self._pending) | {j.path for j in self._parsing.values()}
        for path, stat in files.items():
            if self._stats.get(path) == stat:
                continue
            self._stats[path] = stat
            known = self._known_hashes.pop(path, None)
            if known is not None and known == _hash_file(Path(path)):
                continue  # unchanged since the last time anyone parsed it
            if path not in queued:
                self._pending.append(path)
        for path in [p for p in self._stats if p not in files]:
            del self._stats[path]
            with self.store.write() as conn:
                dag_store.forget_file(conn, path)
            log.info("DAG file removed: %s", path)

    def _dag_files(self) -> dict[str, tuple[int, int]]:
        """The folder's DAG files with their (mtime, size); a file's text is read to tell
        whether it is a DAG file only when it is new or its stat changed."""
        if self.folder.is_file():
            candidates = find_dag_files(self.folder)
        else:
            candidates = candidate_files(self.folder)
        airflow = airflow_compat.enabled()
        found: dict[str, tuple[int, int]] = {}
        seen: dict[str, tuple[tuple[int, int], bool]] = {}
        for p in candidates:
            path = str(p)
            try:
                st = p.stat()
            except OSError:
                continue
            stat = (st.st_mtime_ns, st.st_size)
            cached = self._candidates.get(path)
            is_dag = cached[1] if cached and cached[0] == stat else _is_dag_file(p, airflow=airflow)
            seen[path] = (stat, is_dag)
            if is_dag:
                found[path] = stat
        self._candidates = seen
        return found

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
        if not self._pending:
            return
        environ, root = dict(os.environ), self._root()
        while self._pending and len(self._parsing) < self.max_parallel:
            path = self._pending.popleft()
            receiver, sender = self._context.Pipe(duplex=False)
            process = self._context.Process(
                target=_parse_child, args=(path, sender, environ, root), name="conveyor-parse"
            )
            process.start()
            sender.close()
            self._parsing[receiver.fileno()] = _Parsing(
                path, process, receiver, time.monotonic() + self.timeout
            )

    def _collect(self, block: float) -> int:
        """Take in the parses that finished (waiting up to ``block`` seconds for one) and save
        them in one transaction. Returns files saved."""
        if not self._parsing:
            return 0
        ready_set = set(
            wait(
                [j.pipe for j in self._parsing.values()]
                + [j.process.sentinel for j in self._parsing.values()],
                timeout=min(block, self._next_deadline()),
            )
        )
        now = time.monotonic()
        results: list[ParsedFile] = []
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
            results.append(result)
        if results:
            with self.store.write() as conn:
                for result in results:
                    dag_store.save_parsed_file(conn, result)
        for result in results:
            if result.error:
                log.warning("DAG file %s: %s", result.fileloc, result.error["message"])
        return len(results)

    def _next_deadline(self) -> float:
        """Seconds until the first parse in flight times out (never negative)."""
        first = min(j.deadline for j in self._parsing.values())
        return max(first - time.monotonic(), 0.0)

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
