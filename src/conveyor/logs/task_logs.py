"""Reading, copying and deleting the log files of tries, local and remote."""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Any, BinaryIO

from conveyor.config import Settings
from conveyor.exceptions import ConfigError
from conveyor.install_hint import pip_install
from conveyor.run_ids import folder_name

log = logging.getLogger(__name__)

#: A try's log path ends with ``<dag>/<run>/<task>/try-N.log``, or for an instance of a mapped
#: task ``<dag>/<run>/<task>/map_index=M/try-N.log`` (:func:`try_log_path`), whichever
#: log folder the machine that ran it had; the remote key is that tail.
LAYOUT_DEPTH = 4
MAPPED_FOLDER = "map_index="
#: Keys per delete request (S3 takes at most 1000).
DELETE_BATCH = 500
#: Bytes fetched per ranged request when a remote log is read in small steps.
TAIL_BLOCK = 64 << 10


def try_log_path(
    logs_path: Path, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1
) -> Path:
    """Where a try writes its log under the log folder ``logs_path``."""
    # folder_name is injective and never leaves the DAG's folder, whatever the run id.
    folder = logs_path / dag_id / folder_name(run_id) / task_id
    if map_index >= 0:  # each instance of a mapped task has its own logs
        folder = folder / f"{MAPPED_FOLDER}{map_index}"
    return folder / f"try-{try_number}.log"


def remote_key(log_path: str | PurePath) -> str:
    """The key of a try's log in the bucket, below the prefix of ``remote_logs_url``."""
    parts = PurePath(log_path).parts
    depth = LAYOUT_DEPTH + 1 if parts[-2].startswith(MAPPED_FOLDER) else LAYOUT_DEPTH
    return "/".join(parts[-depth:])


class RemoteLogs:
    """One S3-compatible location (``s3://bucket/prefix``), through obstore.

    Credentials and region come from the usual ``AWS_*`` environment variables
    (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, ...).
    """

    def __init__(self, url: str, endpoint_url: str | None = None) -> None:
        try:
            from obstore.store import S3Store
        except ImportError:
            raise ConfigError(
                f"remote_logs_url is set but the S3 client is missing: {pip_install('s3')}"
            ) from None
        options: dict[str, Any] = {}
        if endpoint_url:
            options["endpoint"] = endpoint_url
            options["client_options"] = {"allow_http": endpoint_url.startswith("http://")}
        self.url = url
        self._store = S3Store.from_url(url, **options)

    def put(self, key: str, data: bytes) -> None:
        import obstore

        obstore.put(self._store, key, data)

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None if there is no such object."""
        import obstore

        try:
            return bytes(obstore.get(self._store, key).bytes())
        except FileNotFoundError:
            return None

    def size(self, key: str) -> int | None:
        """The object's size in bytes, or None if there is no such object."""
        import obstore

        try:
            return int(obstore.head(self._store, key)["size"])
        except FileNotFoundError:
            return None

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes from ``start`` (fewer at the end), fetched as one ranged GET."""
        import obstore

        return bytes(obstore.get_range(self._store, key, start=start, length=length))

    def delete(self, keys: list[str]) -> None:
        import obstore

        for start in range(0, len(keys), DELETE_BATCH):
            obstore.delete(self._store, keys[start : start + DELETE_BATCH])


@functools.cache
def _remote(url: str, endpoint_url: str | None) -> RemoteLogs:
    # One client per process and location: it keeps its HTTP connections open.
    return RemoteLogs(url, endpoint_url)


def remote_logs(settings: Settings) -> RemoteLogs | None:
    """The configured remote location, or None when logs stay local."""
    if not settings.remote_logs_url:
        return None
    return _remote(settings.remote_logs_url, settings.remote_logs_endpoint_url)


def upload_try_log(settings: Settings, log_path: str | Path) -> bool:
    """Copy a finished try's log to the remote location; True if it was copied.

    Never raises: the try's outcome is already recorded, and a bucket that is down must not
    turn it into a failure. The local file stays, so the log is still readable there.
    """
    if not settings.remote_logs_url:
        return False
    try:
        remote = remote_logs(settings)
        assert remote is not None
        remote.put(remote_key(log_path), Path(log_path).read_bytes())
    except Exception as exc:
        log.warning("could not copy task log %s to %s: %s", log_path, settings.remote_logs_url, exc)
        return False
    return True


def read_try_log(settings: Settings, log_path: str | None) -> bytes | None:
    """A try's log: the local file if this machine has it, else the remote copy, else None."""
    if not log_path:
        return None
    local = Path(log_path)
    if local.is_file():
        return local.read_bytes()
    remote = remote_logs(settings)
    if remote is None:
        return None
    try:
        return remote.get(remote_key(log_path))
    except Exception as exc:  # the bucket being unreachable is "no log here", with a warning
        log.warning("could not read task log %s from %s: %s", log_path, remote.url, exc)
        return None


def open_try_log(settings: Settings, log_path: str | None) -> BinaryIO | None:
    """A try's log as a seekable binary file (the local file, else the remote copy), or None.

    For readers that page through a log by offset or read its tail: a remote copy is read by
    ranged requests, so a reader that asks for a megabyte fetches a megabyte, never the whole
    object.
    """
    if not log_path:
        return None
    if Path(log_path).is_file():
        return Path(log_path).open("rb")
    remote = remote_logs(settings)
    if remote is None:
        return None
    key = remote_key(log_path)
    try:
        size = remote.size(key)
    except Exception as exc:  # the bucket being unreachable is "no log here", with a warning
        log.warning("could not read task log %s from %s: %s", log_path, remote.url, exc)
        return None
    if size is None:
        return None
    return io.BufferedReader(_RangedObject(remote, key, size), buffer_size=TAIL_BLOCK)


class _RangedObject(io.RawIOBase):
    """A remote object as a read-only, seekable raw file: each read is one ranged GET."""

    def __init__(self, remote: RemoteLogs, key: str, size: int) -> None:
        super().__init__()
        self._remote = remote
        self._key = key
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        data = self._remote.read_range(self._key, self._position, wanted)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


def delete_try_logs(settings: Settings, log_paths: Iterable[str]) -> tuple[int, int]:
    """Delete these logs here and in the remote location; (local files, remote keys) deleted.

    Empty directories left behind under the log folder are removed too.
    """
    paths = [p for p in log_paths if p]
    local = 0
    parents: set[Path] = set()
    for path in map(Path, paths):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        local += 1
        parents.add(path.parent)
    _remove_empty_dirs(parents, settings.logs_path)
    remote = remote_logs(settings)
    if remote is None or not paths:
        return local, 0
    keys = sorted({remote_key(p) for p in paths})
    remote.delete(keys)  # deleting a missing key is not an error in S3
    return local, len(keys)


def _remove_empty_dirs(dirs: set[Path], root: Path) -> None:
    for start in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        current = start
        while current != root and root in current.parents:
            try:
                current.rmdir()  # only succeeds when empty
            except OSError:
                break
            current = current.parent
