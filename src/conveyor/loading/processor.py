"""Finding DAG files and parsing them in child processes, with a time limit for each file.

A child takes one waiting file after another (``dag_parse_files_per_process``), and between
two files puts back the DAG folder's modules, ``sys.path``, the environment and the working
folder. A file that hangs, crashes the interpreter or calls ``sys.exit`` at import becomes an
import error for that file alone; the scheduler keeps scheduling everything else meanwhile, because
parsing runs on the processor's own thread, up to ``dag_parse_processes`` files at once, and
each loop only saves what finished (for at most ``dag_parse_loop_seconds``). Files are found
by a cheap stat scan every ``dag_scan_seconds``, so a new file shows up within about a
second; a file is read again when its size or modification time changed, and parsed again
when its text did, and also ``min_file_process_interval`` seconds after its last parse (as in
Airflow), so an import error that depended on a variable or connection clears by itself; a
parse that finds the same DAG writes nothing new (``store.dags``). A file someone asked to
have parsed (``store.parse_requests``) is parsed at the next scan, changed or not.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Final, Literal

from conveyor import interrupts
from conveyor._processes import PARSE_MODULES, adopt_environment, fork_context
from conveyor.exceptions import DagImportError
from conveyor.loading import shipping
from conveyor.loading.discovery import (
    LOADERS,
    YAML_SUFFIXES,
    candidate_files,
    candidate_stats,
    current_discovery,
    find_dag_files,
    is_dag_file,
)
from conveyor.stats import airflow as stats
from conveyor.store import dags as dag_store
from conveyor.store import parse_requests
from conveyor.store.dags import ParsedFile
from conveyor.store.engine import Store

log = logging.getLogger(__name__)

# What discovery finds is read here too by its older importers (neighbours, validate, tests).
__all__ = [
    "LOADERS",
    "YAML_SUFFIXES",
    "DagFileProcessor",
    "candidate_files",
    "candidate_stats",
    "find_dag_files",
    "load_file",
    "loader_for",
    "parse_file",
]

#: A processor keyword's default: the value of the process's settings.
FROM_SETTINGS: Final = "settings"
#: Parses finished and not saved yet, at the most: a result holds a whole DAG file's
#: serialized DAGs, and a loop slower than the parsing thread saves fewer than it makes.
MAX_UNSAVED: Final = 64
#: How a command's own parse (``one_off``) starts its children: a plain fork of the command.
_FORK = multiprocessing.get_context("fork")


def loader_for(path: str) -> Callable[[str], list[Any]]:
    import importlib

    module_name, func = LOADERS[Path(path).suffix].split(":")
    return getattr(importlib.import_module(module_name), func)  # type: ignore[no-any-return]


def load_file(
    path: str, root: Path | None, plugins: Path | None, *, source: str | None = None
) -> list[Any]:
    """The DAGs of one file, with the DAG folder's ``root`` and the ``plugins`` folder
    importable (``source``: a Python file's text as read and hashed). Its namespace is left
    entered."""
    from conveyor.airflow_compat import plugins as plugins_loader
    from conveyor.loading import namespaces
    from conveyor.loading.importer import import_dag_file, search_folders

    folders = search_folders(path, root, plugins)
    plugins_folder = str(plugins.resolve()) if plugins is not None and plugins.is_dir() else None
    if Path(path).suffix == ".py":  # run exactly the text that is stored and hashed
        dags = import_dag_file(path, source=source, folders=folders, plugins_folder=plugins_folder)
    else:
        space = namespaces.for_folders(folders, plugins_folder)
        namespaces.refresh(space)
        namespaces.enter(space)
        dags = loader_for(path)(path)
    if plugins_folder is not None:  # every plugin travels with the version, as Airflow loads all
        plugins_loader.preload(plugins_folder)
    return dags


def parse_file(path: str, root: Path | None = None, plugins: Path | None = None) -> ParsedFile:
    """Load one file in this process and serialize its DAGs (the child's work).

    ``root`` is the DAG folder (default: the file's own folder) and ``plugins`` the plugins
    folder: both are importable, and the Python modules the file loads from them are shipped
    with its source (see ``shipping``).
    """
    from conveyor.loading.importer import read_source
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
        dags = load_file(path, root, plugins, source=source)
        serialized = [serialize_dag(d) for d in dags]
        error = None
        folder = root if root is not None else Path(path).parent
        helpers = shipping.helper_files(path, folder, plugins)
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
        helpers={_helper_path(root_path, plugins, rel): text for rel, text in helpers.items()},
    )


def _helper_path(root: Path, plugins: Path | None, rel: str) -> str:
    """Where a shipped module is on this machine (its store row's ``fileloc``)."""
    if plugins is not None and rel.startswith(shipping.PLUGINS_PREFIX):
        return str(plugins.resolve() / rel.removeprefix(shipping.PLUGINS_PREFIX))
    return str(root / rel)


def _parse_child(
    first: str, pipe: Pipe, environ: dict[str, str], root: Path, plugins: Path | None
) -> None:
    """Parse ``first``, then each file the processor sends next, until it sends None."""
    adopt_environment(environ)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    path: str | None = first
    while path is not None:
        pipe.send(_parse_apart(path, environ, root, plugins))
        try:
            path = pipe.recv()
        except EOFError:
            path = None
    pipe.close()


def _parse_apart(
    path: str, environ: dict[str, str], root: Path, plugins: Path | None
) -> ParsedFile:
    """Parse one of a child's files, then put back what its import may have changed that
    the next file must not see: the modules it loaded from the DAG and plugins folders (its
    namespace) and its own module, ``sys.path``, the environment and the working folder."""
    from conveyor.loading import namespaces
    from conveyor.loading.importer import module_name_for

    path_before = list(sys.path)
    try:
        folder_before: str | None = os.getcwd()
    except OSError:
        folder_before = None
    try:
        return parse_file(path, root, plugins)
    finally:
        namespaces.forget_entered()
        sys.modules.pop(module_name_for(path), None)
        sys.path[:] = path_before
        if dict(os.environ) != environ:
            adopt_environment(environ)
        if folder_before is not None:
            with contextlib.suppress(OSError):
                os.chdir(folder_before)


def _parse_forked(inherited: tuple[int, ...], *args: Any) -> None:
    """:func:`_parse_child` in a plain fork of a command: first close the copies of the
    command's pipes that a fork server's child would not have (a copy of another child's
    end would keep that child's pipe open after the command died, and it would wait on it
    for ever), and take SIGTERM's default back from the command's handler."""
    _close_fds(*inherited)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _parse_child(*args)


def _import_what_a_parse_needs() -> None:
    """Import here what a parse needs, so that every child forked after has it."""
    for name in PARSE_MODULES:
        importlib.import_module(name)


@dataclass
class _Parsing:
    """A parse child: the file it parses now (None: it is being let go), how many it was
    given, and when the one it parses now runs out of time."""

    path: str | None
    process: Any
    pipe: Pipe
    deadline: float
    given: int = 1


class DagFileProcessor:
    """Keeps the store's DAGs in step with a folder. Call :meth:`poll` often; it never waits
    on a parse.

    The children are started and collected on a thread of the processor's own, so parsing
    goes on at full speed between the scheduler's loops; the loop's thread only scans and
    saves what was parsed (the store is used from that thread alone).
    """

    def __init__(
        self,
        store: Store,
        folder: Path,
        *,
        timeout: float,
        scan_every: float,
        max_parallel: int = 2,
        files_per_child: int | Literal["settings"] = FROM_SETTINGS,
        max_unsaved: int = MAX_UNSAVED,
        loop_budget: float = 0.5,
        paused_at_creation: bool | Literal["settings"] | None = FROM_SETTINGS,
        reparse_every: float | Literal["settings"] = FROM_SETTINGS,
        stats_every: float | Literal["settings"] = FROM_SETTINGS,
        plugins_folder: Path | None = None,
        only: Path | None = None,
        one_off: bool = False,
    ) -> None:
        """``only``: parse this one file of ``folder`` and no other (``folder`` stays the
        root its imports see); ``one_off``: a command's own parse of what changed (its
        :meth:`sync`), whose children are plain forks of the command, which has most of
        what a parse imports loaded already, not children of the fork server, which the
        command would start for them with the whole preload of a try's runner (a second or
        more); from a process running other threads, the fork server's all the same;
        ``paused_at_creation``: a new DAG's first pause state (see
        ``store.dags.save_parsed_file``; None: never paused, for throwaway stores);
        ``reparse_every``: seconds after which an unchanged file is parsed again. By default
        both come from the settings ``dags_are_paused_at_creation`` and
        ``min_file_process_interval``; ``files_per_child``: files a parse child imports one
        after another, at most (``dag_parse_files_per_process``); ``max_unsaved``: parses
        finished and not saved yet past which no new one starts; ``stats_every``: seconds
        between two sends of each file's parse age, when metrics are on
        (``dag_processor_stats_seconds``; 0: never)."""
        if FROM_SETTINGS in (paused_at_creation, reparse_every, files_per_child, stats_every):
            from conveyor.config import load_config

            configured = load_config().settings
            if paused_at_creation == FROM_SETTINGS:
                paused_at_creation = configured.dags_are_paused_at_creation
            if reparse_every == FROM_SETTINGS:
                reparse_every = configured.min_file_process_interval
            if files_per_child == FROM_SETTINGS:
                files_per_child = configured.dag_parse_files_per_process
            if stats_every == FROM_SETTINGS:
                stats_every = configured.dag_processor_stats_seconds
        assert not isinstance(paused_at_creation, str) and not isinstance(reparse_every, str)
        assert not isinstance(files_per_child, str) and not isinstance(stats_every, str)
        self.stats_every: float = stats_every
        self.files_per_child = files_per_child
        self.paused_at_creation: bool | None = paused_at_creation
        self.reparse_every: float = reparse_every
        self.store = store
        self.folder = folder
        self.plugins_folder = plugins_folder  # importable with the folder, as in Airflow
        self.only = only
        self.one_off = one_off
        self._ready_to_fork = False
        self.timeout = timeout
        self.scan_every = scan_every
        self.max_parallel = max_parallel
        self.max_unsaved = max_unsaved
        self.loop_budget = loop_budget
        self._context = fork_context()
        self._stats: dict[str, tuple[int, int]] = {}
        #: path -> (size and mtime, whether it is a DAG file): files are read only on change.
        self._candidates: dict[str, tuple[tuple[int, int], bool]] = {}
        self._next_scan = 0.0
        #: When the scan that found the files being parsed now ran (monotonic), for
        #: Airflow's dag_processing.total_parse_time; None: nothing is being parsed.
        self._batch_started: float | None = None
        self._known_hashes: dict[str, str] | None = None
        #: path -> when (monotonic) it was last handed to the parsing thread.
        self._parsed_at: dict[str, float] = {}
        #: path -> when (epoch seconds) its last parse was saved, for Airflow's
        #: dag_processing.last_run.seconds_ago; sent again at ``_next_stats`` (monotonic).
        self._saved_at: dict[str, float] = {}
        self._next_stats = 0.0
        # What each DAG file imported from the DAG folder and the plugins folder when it was
        # last parsed: a change to one of those modules parses its importers again.
        self._imported: dict[str, frozenset[str]] = {}  # DAG file -> module files
        self._module_stats: dict[str, tuple[int, int] | None] = {}
        # Shared with the parsing thread, under _lock: paths to parse, parses in flight,
        # parses finished and not saved yet.
        self._lock = threading.Lock()
        self._pending: deque[str] = deque()
        self._starting: set[str] = set()
        self._parsing: dict[int, _Parsing] = {}
        self._done: deque[tuple[str, ParsedFile]] = deque()  # (path parsed, its result)
        self._thread: threading.Thread | None = None
        self._stopped = False  # see stop()
        self._wake_r, self._wake_w = os.pipe()  # wakes the thread for new files
        os.set_blocking(self._wake_w, False)
        weakref.finalize(self, _close_fds, self._wake_r, self._wake_w)

    def unsaved(self) -> int:
        """Parses finished and waiting for a loop to save them."""
        with self._lock:
            return len(self._done)

    def busy(self) -> bool:
        with self._lock:
            return bool(self._pending or self._starting or self._parsing or self._done)

    def poll(self) -> int:
        """Scan if due, hand new and changed files to the parsing thread, and save the
        parses that finished, for at most ``loop_budget`` seconds (the rest are saved in the
        next loops). Returns files saved."""
        started = time.monotonic()
        self._stopped = False  # polled again after a stop: in use again
        if started >= self._next_scan:
            self._scan()
            self._next_scan = time.monotonic() + self.scan_every
        self._ensure_thread()
        saved = 0
        while time.monotonic() - started < self.loop_budget or not saved:
            batch = self._take_done(limit=20)
            if not batch:
                break
            self._save(batch)
            saved += len(batch)
        if self.stats_every > 0 and self._next_stats <= started:
            self._send_ages()
            self._next_stats = started + self.stats_every
        return saved

    def sync(self, *, every_file: bool = False) -> None:
        """Parse every changed file now and wait for all of them (for the CLI and tests);
        with ``every_file``, every DAG file of the folder, changed or not (``conveyor dags
        reserialize``).

        A stop request (SIGTERM, Ctrl-C: :mod:`conveyor.interrupts`) ends the wait, and the
        parses in flight are killed."""
        self._stopped = False
        self._scan(every_file=every_file)
        while self.busy():
            if interrupts.requested():
                self.stop()
                return
            if self._thread is None:
                self._parse_step(block=0.05)
            else:
                time.sleep(0.02)
            batch = self._take_done(limit=50)
            if batch:
                self._save(batch)

    def stop(self) -> None:
        """Start no more parses and kill those in flight: a parse of a file that hangs at
        import would otherwise outlive the process that asked for it, holding its pipes."""
        with self._lock:
            self._stopped = True
            self._pending.clear()
            jobs = list(self._parsing.values())
        for job in jobs:
            job.process.kill()

    # -- the parsing thread ----------------------------------------------------------------

    def _ensure_thread(self) -> None:
        """A parsing thread while there is work; it ends when there is none left."""
        with self._lock:
            if not self._has_work():
                return
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._parse_while_needed, name="conveyor-dag-parse", daemon=True
                )
                self._thread.start()
                return
        self._wake()

    def _wake(self) -> None:
        """Wake the parsing thread: new files, or room for more parses."""
        with contextlib.suppress(BlockingIOError):  # a byte is there already: it is awake
            os.write(self._wake_w, b"x")

    def _has_work(self) -> bool:
        return bool(self._pending or self._starting or self._parsing)

    def _parse_while_needed(self) -> None:
        while True:
            with self._lock:
                if not self._has_work():
                    self._thread = None
                    return
            try:
                self._parse_step(block=1.0)
            except Exception:  # carry on: the files in flight must still end
                log.exception("the DAG file processor failed; carrying on")
                time.sleep(0.5)

    def _parse_step(self, block: float) -> None:
        """Start parses while there is room, then wait up to ``block`` seconds for one to end
        (or for new work) and move the finished ones to the done queue."""
        self._start_parses()
        with self._lock:
            jobs = list(self._parsing.values())
        waiting: list[Any] = [self._wake_r]
        waiting += [j.pipe for j in jobs] + [j.process.sentinel for j in jobs]
        if jobs:
            block = min(block, max(min(j.deadline for j in jobs) - time.monotonic(), 0.0))
        ready = set(wait(waiting, timeout=block))
        if self._wake_r in ready:
            os.read(self._wake_r, 4096)
        self._collect(jobs, ready)

    def _start_parses(self) -> None:
        environ, root = dict(os.environ), self._root()
        while True:
            with self._lock:
                if len(self._parsing) + len(self._starting) >= self.max_parallel:
                    return
                path = self._next_path()
                if path is None:
                    return
                self._starting.add(path)
            receiver, sender = self._context.Pipe(duplex=True)
            process = self._child((path, sender, environ, root, self.plugins_folder), receiver)
            _start_unlisted(process)
            sender.close()
            with self._lock:
                self._parsing[receiver.fileno()] = _Parsing(
                    path, process, receiver, time.monotonic() + self.timeout
                )
                self._starting.discard(path)
                if self._stopped:  # stop() came while it started: it missed this one
                    process.kill()
                    return

    def _child(self, args: tuple[Any, ...], receiver: Pipe) -> Any:
        """The process that runs ``_parse_child(*args)``, not started: a plain fork of this
        process for a one-off parse with no other thread running, else a fork server's."""
        if not self.one_off or threading.active_count() > 1:
            return self._context.Process(target=_parse_child, args=args, name="conveyor-parse")
        if not self._ready_to_fork:
            _import_what_a_parse_needs()
            self._ready_to_fork = True
        # No child may hold a copy of a pooled connection (its copy closed at its end would
        # end the command's database session); the saves between two forks open new ones.
        self.store.dispose()
        with self._lock:
            others = [job.pipe.fileno() for job in self._parsing.values()]
        inherited = (receiver.fileno(), self._wake_r, self._wake_w, *others)
        return _FORK.Process(target=_parse_forked, args=(inherited, *args), name="conveyor-parse")

    def _next_path(self) -> str | None:
        """The next file to parse, if there is room for its result; under _lock."""
        # A loop slower than the parses (a loaded machine) must not make the results it
        # has not saved yet pile up: the rest wait as paths.
        in_flight = sum(1 for j in self._parsing.values() if j.path is not None)
        if not self._pending or in_flight + len(self._starting) + len(self._done) >= (
            self.max_unsaved
        ):
            return None
        return self._pending.popleft()

    def _collect(self, jobs: list[_Parsing], ready: set[Any]) -> None:
        for job in jobs:
            if job.path is not None and (job.pipe in ready or job.process.sentinel in ready):
                self._receive(job)
            if job.path is not None:
                ended = job.process.sentinel in ready
                timed_out = time.monotonic() >= job.deadline
                if not ended and not timed_out:
                    continue
                failed = self._failed(job, job.path, timed_out)
                with self._lock:
                    self._done.append((job.path, failed))
                    job.path = None
            elif self._give_next(job):
                continue
            self._let_go(job)

    def _receive(self, job: _Parsing) -> None:
        """The result of the file the child parses, if it has sent it."""
        try:
            if not job.pipe.poll():
                return
            result = job.pipe.recv()
        except (EOFError, OSError):  # it ended without a result: _collect fails the file
            return
        assert job.path is not None
        with self._lock:
            self._done.append((job.path, result))
            job.path = None

    def _give_next(self, job: _Parsing) -> bool:
        """Hand a child that finished its file the next one; False: let it go.

        A child's start costs about 20 ms of CPU on these machines (the fork of a 100 MiB
        server, then the pages its first import copies), a small file's parse 2 to 3: a
        folder of 1,000 files parsed again every 30 s spent 0.7 of a core starting children.
        So a child that is done takes the next waiting file, up to ``files_per_child``; a
        file that hangs holds up only its own child."""
        if job.given >= self.files_per_child or not job.process.is_alive():
            return False
        with self._lock:
            path = None if self._stopped else self._next_path()
            if path is None:
                return False
            job.path = path
        try:
            job.pipe.send(path)
        except OSError:  # it died between two files: the file waits for the next child
            with self._lock:
                self._pending.appendleft(path)
                job.path = None
            return False
        job.given += 1
        job.deadline = time.monotonic() + self.timeout
        return True

    def _let_go(self, job: _Parsing) -> None:
        with contextlib.suppress(OSError):
            job.pipe.send(None)
        job.pipe.close()
        job.process.join(timeout=0.5)
        if job.process.is_alive():
            job.process.kill()
            job.process.join()
        with self._lock:
            self._parsing = {k: j for k, j in self._parsing.items() if j is not job}

    # -- the loop's thread -----------------------------------------------------------------

    def _take_done(self, limit: int) -> list[ParsedFile]:
        with self._lock:
            taken = [self._done.popleft()[1] for _ in range(min(limit, len(self._done)))]
        if taken:  # room again for the parsing thread, if it waits for some
            self._wake()
        return taken

    def _save(self, results: list[ParsedFile]) -> None:
        """Save parses in one transaction."""
        with self.store.write() as conn:
            for result in results:
                dag_store.save_parsed_file(conn, result, paused_at_creation=self.paused_at_creation)
        for result in results:
            if result.error is None:
                self._note_imports(result.fileloc, result.helpers)
        for result in results:
            if result.error:
                log.warning("DAG file %s: %s", result.fileloc, result.error["message"])
        saved_at = time.time()
        for result in results:
            self._saved_at[result.fileloc] = saved_at
        self._send_metrics(results)

    def _send_metrics(self, results: list[ParsedFile]) -> None:
        """Each file's parse time and, once the files a scan found are all saved, how long
        they took and the DAGs and import errors the store has now (Airflow's names)."""
        if not stats.on():
            self._batch_started = None
            return
        for result in results:
            stats.dag_file_parsed(Path(result.fileloc).stem, result.seconds)
        if self._batch_started is not None and not self.busy():
            with self.store.read() as conn:
                dags, errors = dag_store.folder_counts(conn)
            stats.dag_files_parsed(time.monotonic() - self._batch_started, dags, errors)
            self._batch_started = None

    def _send_ages(self) -> None:
        """How long ago each file of the folder was last parsed, as Airflow's processor
        sends it with its table of files: a file never parsed by this process is left out."""
        if not stats.on():
            return
        now = time.time()
        root = self._root()
        ages: dict[str, float] = {}
        for path, saved_at in self._saved_at.items():
            where = Path(path)
            ages[str(where.relative_to(root) if where.is_relative_to(root) else where)] = (
                now - saved_at
            )
        stats.dag_file_ages(ages)

    def _scan(self, *, every_file: bool = False) -> None:
        files = self._dag_files()
        now = time.monotonic()
        stale: set[str] = set()
        if self._known_hashes is None:
            self._known_hashes, stale = self._first_scan(files)
        with self._lock:
            queued = set(self._pending) | self._starting
            queued |= {j.path for j in self._parsing.values() if j.path is not None}
            queued |= {path for path, _ in self._done}  # parsed, not saved yet
        asked = self._asked_to_parse()
        changed: list[str] = []
        interval_over: list[str] = []  # unchanged, their interval from this parse ended
        for path, stat in files.items():
            if path in queued:
                continue
            if every_file or path in asked:
                self._stats[path] = stat
                self._known_hashes.pop(path, None)
            elif self._stats.get(path) == stat:
                if now - self._parsed_at.get(path, now) >= self.reparse_every:
                    interval_over.append(path)
                continue  # unchanged, and parsed lately
            else:
                self._stats[path] = stat
                known = self._known_hashes.pop(path, None)
                if known is not None and known == _hash_file(Path(path)):
                    # Unchanged since the last time anyone parsed it: again after the interval.
                    self._parsed_at[path] = now
                    continue
            self._parsed_at[path] = now
            changed.append(path)
        stale |= set(self._parsed_elsewhere_lately(interval_over, now))
        stale |= self._importers_of_changed_modules()
        stale = {p for p in stale if p in files and p not in queued and p not in changed}
        for path in sorted(stale):
            self._parsed_at[path] = now
            changed.append(path)
        if changed and self._batch_started is None:
            self._batch_started = now
        with self._lock:
            self._pending.extend(changed)
            waiting = len(self._pending)
        stats.file_queue_size(waiting)
        for path in [p for p in self._stats if p not in files]:
            del self._stats[path]
            self._parsed_at.pop(path, None)
            self._saved_at.pop(path, None)
            with self.store.write() as conn:
                dag_store.forget_file(conn, path)
            log.info("DAG file removed: %s", path)

    def _first_scan(self, files: dict[str, tuple[int, int]]) -> tuple[dict[str, str], set[str]]:
        """What the store has: the files parsed so far with their hashes (those removed
        while nobody was watching forgotten), and the files to parse again for what they
        import (``_stored_imports``)."""
        with self.store.read() as conn:
            known = dag_store.known_files(conn)
            shipped = dag_store.shipped_by_file(conn)
            # A file that failed, unchanged since, is parsed again now if its interval is
            # over, as a running processor would: what it lacked (a package, a module beside
            # it, a fixed Conveyor) may be there now. So `dags list` after `pip install`
            # shows the file load, as a scheduler would within its interval.
            failed = dag_store.failed_before(conn, self.reparse_every)
        for path in failed:
            known.pop(path, None)
        for path in [p for p in known if p not in files and self._owns(p)]:
            with self.store.write() as conn:
                dag_store.forget_file(conn, path)
        return known, self._stored_imports(shipped, files)

    def _parsed_elsewhere_lately(self, due: list[str], now: float) -> list[str]:
        """Of the unchanged files ``due`` a parse again, those to parse now: on a store that
        several schedulers share, a file another one parsed within ``reparse_every`` waits
        for the interval from that parse instead (every scheduler parsed the whole folder
        each interval: two schedulers, two parses of each file). The interval is the file's,
        whoever parsed it last, as Airflow's is its last parse time.

        A scheduler that waits for another's parse looks again half an interval after that
        one's next parse is due, not at the same moment (when both would find it due and
        parse it): while the other parses the file in time it keeps waiting, and when the
        other stops, it parses the file at most one and a half intervals after its last
        parse."""
        if not due or not self.store.supports_row_locks:
            return due
        with self.store.read() as conn:
            ages = dag_store.parse_ages(conn, due)
        again: list[str] = []
        for path in due:
            age = ages.get(path)
            if age is not None and 0 <= age < self.reparse_every:
                self._parsed_at[path] = now - age + self.reparse_every / 2
            else:
                again.append(path)
        return again

    def _asked_to_parse(self) -> set[str]:
        """The files someone asked to have parsed now (``store.parse_requests``); the
        requests are taken, so the next scan parses them only if they change again."""
        with self.store.read() as conn:
            if not parse_requests.pending_requests(conn):
                return set()
        with self.store.write() as conn:
            return set(parse_requests.take_requests(conn))

    def _note_imports(self, path: str, modules: dict[str, str]) -> None:
        """Remember the module files a DAG file imported from the two folders (with their
        stat now): a change to one of them makes it parse again."""
        imported = frozenset(modules)
        self._imported[path] = imported
        for module in imported:
            if module not in self._module_stats:
                self._module_stats[module] = _stat(module)

    def _importers_of_changed_modules(self) -> set[str]:
        """The DAG files that imported a module whose file changed since it was noted."""
        changed: set[str] = set()
        for module, before in list(self._module_stats.items()):
            now = _stat(module)
            if now != before:
                self._module_stats[module] = now
                changed.add(module)
        if not changed:
            return set()
        return {path for path, modules in self._imported.items() if modules & changed}

    def _stored_imports(
        self, shipped: dict[str, dict[str, Any]], files: dict[str, tuple[int, int]]
    ) -> set[str]:
        """At the first scan: note what each stored DAG file imported, as its version's
        manifest lists it; the files one of whose modules changed since are stale."""
        root, plugins = self._root().resolve(), self.plugins_folder
        stale: set[str] = set()
        for path, manifest in shipped.items():
            if path not in files:
                continue
            modules: dict[str, str] = {}
            for rel, file_hash in manifest["files"].items():
                if rel.startswith(shipping.PLUGINS_PREFIX):
                    if plugins is None:
                        continue
                    where = plugins.resolve() / rel.removeprefix(shipping.PLUGINS_PREFIX)
                else:
                    where = root / rel
                modules[str(where)] = file_hash
                if _hash_file(where) != file_hash:
                    stale.add(path)
            self._note_imports(path, modules)
        return stale

    def _dag_files(self) -> dict[str, tuple[int, int]]:
        """The folder's DAG files with their (mtime, size); a file's text is read to tell
        whether it is a DAG file only when it is new or its stat changed."""
        discovery = current_discovery()
        found: dict[str, tuple[int, int]] = {}
        seen: dict[str, tuple[tuple[int, int], bool]] = {}
        for path, stat in candidate_stats(self.only or self.folder, discovery).items():
            cached = self._candidates.get(path)
            if cached and cached[0] == stat:
                is_dag = cached[1]
            else:
                is_dag = is_dag_file(Path(path), discovery)
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
        settings) are not this processor's to retire; with ``only``, neither are the other
        files of its folder (``conveyor run FILE`` parses a neighbour into the same store).
        """
        root = (self.only or self.folder).resolve()
        return Path(path).resolve() == root or root in Path(path).resolve().parents

    def _failed(self, job: _Parsing, path: str, timed_out: bool) -> ParsedFile:
        if timed_out:
            job.process.kill()
            stats.parse_timed_out(path)
            message = (
                f"importing the file took longer than {self.timeout:g}s "
                "(parse_timeout_seconds); does it do work at import time?"
            )
        else:
            job.process.join(timeout=1)
            code = job.process.exitcode
            message = f"the process importing the file died (exit status {code})"
        try:
            source = Path(path).read_text(errors="replace")
        except OSError:
            source = ""
        return ParsedFile(
            path, source, [], {"line": None, "message": message, "traceback": None}, 0.0
        )


def _start_unlisted(process: Any) -> None:
    """``process.start()`` without multiprocessing's bookkeeping of children.

    ``start()`` first polls every child of this process for its exit status, and lists the
    new one for the same polls in later starts. From the parsing thread that would race the
    local executor, on the loop's thread, reading its tries' exit statuses (of two readers
    one gets the status, the other EOF, recorded as 255). Parse children are joined by the
    parsing thread alone, so they are left out of that list, and this thread reaps no one
    else's.
    """
    process._popen = process._Popen(process)
    process._sentinel = process._popen.sentinel
    del process._target, process._args, process._kwargs


def _close_fds(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _hash_file(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""
