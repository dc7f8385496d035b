"""``SFTPHook``: files on a server over SFTP, as Airflow's sftp provider's, on paramiko.

It is an ``SSHHook`` (the same connection settings, host key rules and failures) whose
``get_conn()`` is a ``paramiko.SFTPClient``, kept open until ``close_conn()``. The file
methods (``list_directory``, ``store_file``, ...) use that client when it is open, else open
one for the call and close it after, so a hook made in a DAG file holds no connection between
calls. Results have Airflow's shapes: sorted names, ``describe_directory``'s
``{name: {"size", "type", "modify"}}`` and modification times as ``YYYYMMDDHHMMSS`` text in
the worker's local time.
"""

from __future__ import annotations

import contextlib
import datetime
import fnmatch
import os
import stat
from collections.abc import Iterator
from enum import StrEnum
from typing import IO, Any

from conveyor.exceptions import TaskError
from conveyor.providers._hook import HookNames
from conveyor.providers.ssh.hook import SSHHook


class SFTPOperation(StrEnum):
    """What ``SFTPOperator`` does: ``put`` a local file on the server, ``get`` one from it,
    or ``delete`` it there."""

    PUT = "put"
    GET = "get"
    DELETE = "delete"


def _stamp(seconds: float | None) -> str:
    return datetime.datetime.fromtimestamp(seconds or 0).strftime("%Y%m%d%H%M%S")


class SFTPHook(SSHHook):
    """``SFTPHook(ssh_conn_id="...")`` (also ``sftp_conn_id=``, Airflow's older
    ``ftp_conn_id=``); without one, ``sftp_default``. Other keywords are ``SSHHook``'s."""

    names = HookNames("ssh_conn_id", "sftp_default", "sftp", "SFTP")

    def __init__(self, ssh_conn_id: str | None = "sftp_default", *args: Any, **kwargs: Any) -> None:
        for older in ("sftp_conn_id", "ftp_conn_id"):
            given = kwargs.pop(older, None)
            ssh_conn_id = given or ssh_conn_id
        kwargs.pop("ssh_hook", None)  # Airflow ignores it too
        kwargs.pop("use_managed_conn", None)  # every call here is managed unless get_conn() is open
        #: The client ``get_conn`` opened, used by every method until ``close_conn``.
        self.conn: Any = None
        super().__init__(ssh_conn_id, *args, **kwargs)

    # -- the connection --------------------------------------------------------------------

    def get_conn(self) -> Any:
        """An open ``paramiko.SFTPClient``, the same one until ``close_conn()``."""
        if self.conn is None:
            self.conn = super().get_conn().open_sftp()
        return self.conn

    def close_conn(self) -> None:
        """Close the SFTP client ``get_conn`` opened, and its SSH connection."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.client is not None:
            self.client.close()
            self.client = None

    @contextlib.contextmanager
    def get_managed_conn(self) -> Iterator[Any]:
        """An SFTP client for a block: the open one (``get_conn``'s, or an enclosing
        block's), else one of its own that calls inside the block share and that is closed
        with its SSH connection when the block ends."""
        if self.conn is not None:
            yield self.conn
            return
        client = SSHHook.get_conn(self)
        self.client = None  # this block's own, closed below
        try:
            self.conn = client.open_sftp()
            yield self.conn
        finally:
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            client.close()

    def _probe(self) -> None:
        """What ``test_connection`` tries: ask the SFTP server for its working directory."""
        with self.get_managed_conn() as sftp:
            sftp.normalize(".")

    # -- directories -----------------------------------------------------------------------

    def describe_directory(self, path: str) -> dict[str, dict[str, Any]]:
        """``{name: {"size": bytes, "type": "file" or "dir", "modify": "YYYYMMDDHHMMSS"}}``."""
        with self.get_managed_conn() as sftp:
            entries = sorted(sftp.listdir_attr(path), key=lambda entry: entry.filename)
        return {
            entry.filename: {
                "size": entry.st_size,
                "type": "dir" if stat.S_ISDIR(entry.st_mode or 0) else "file",
                "modify": _stamp(entry.st_mtime),
            }
            for entry in entries
        }

    def list_directory(self, path: str, recursive: bool = False) -> list[str] | None:
        """The names in ``path``, sorted; with ``recursive``, every file below it as a path
        relative to it. ``None`` when ``path`` is not a directory there, as Airflow's."""
        with self.get_managed_conn() as sftp:
            try:
                if not recursive:
                    return sorted(sftp.listdir(path))
                return sorted(self._files_below(sftp, path, ""))
            except OSError:
                return None

    def _files_below(self, sftp: Any, root: str, relative: str) -> Iterator[str]:
        for entry in sftp.listdir_attr(os.path.join(root, relative) if relative else root):
            name = os.path.join(relative, entry.filename) if relative else entry.filename
            if stat.S_ISDIR(entry.st_mode or 0):
                yield from self._files_below(sftp, root, name)
            else:
                yield name

    def list_directory_with_attr(self, path: str) -> list[Any]:
        """The entries of ``path`` as paramiko's ``SFTPAttributes``."""
        with self.get_managed_conn() as sftp:
            return list(sftp.listdir_attr(path))

    def mkdir(self, path: str, mode: int = 0o777) -> None:
        """Create one directory (its parent must exist)."""
        with self.get_managed_conn() as sftp:
            sftp.mkdir(path, mode)

    def create_directory(self, path: str, mode: int = 0o777) -> None:
        """Create ``path`` and its missing parents; nothing when it is a directory already."""
        with self.get_managed_conn():
            if self.isdir(path):
                return
            if self.isfile(path):
                raise TaskError(f"{self._name()}: {path} already exists and is a file")
            parent, name = os.path.split(path.rstrip("/"))
            if parent and parent != path:
                self.create_directory(parent, mode)
            if name:
                self.log.info("Creating %s", path)
                self.mkdir(path, mode)

    def delete_directory(self, path: str, include_files: bool = False) -> None:
        """Remove a directory: an empty one, or with ``include_files`` all it holds too."""
        with self.get_managed_conn() as sftp:
            if include_files:
                for entry in sftp.listdir_attr(path):
                    inside = f"{path.rstrip('/')}/{entry.filename}"
                    if stat.S_ISDIR(entry.st_mode or 0):
                        self.delete_directory(inside, include_files=True)
                    else:
                        sftp.remove(inside)
            sftp.rmdir(path)

    # -- files -----------------------------------------------------------------------------

    def retrieve_file(
        self, remote_full_path: str, local_full_path: str | IO[bytes], prefetch: bool = True
    ) -> None:
        """Copy a remote file to a local path (or into a binary file object)."""
        with self.get_managed_conn() as sftp:
            if hasattr(local_full_path, "write"):
                sftp.getfo(remote_full_path, local_full_path, prefetch=prefetch)
            else:
                sftp.get(remote_full_path, os.fspath(local_full_path), prefetch=prefetch)

    def store_file(
        self, remote_full_path: str, local_full_path: str | IO[bytes], confirm: bool = True
    ) -> None:
        """Copy a local path (or a binary file object) to a remote file; ``confirm`` checks
        the size written."""
        with self.get_managed_conn() as sftp:
            if hasattr(local_full_path, "read"):
                sftp.putfo(local_full_path, remote_full_path, confirm=confirm)
            else:
                sftp.put(os.fspath(local_full_path), remote_full_path, confirm=confirm)

    def delete_file(self, path: str) -> None:
        """Remove a remote file."""
        with self.get_managed_conn() as sftp:
            sftp.remove(path)

    # -- questions -------------------------------------------------------------------------

    def _stat(self, path: str) -> Any:
        """The entry's attributes, or None when there is none."""
        with self.get_managed_conn() as sftp:
            try:
                return sftp.stat(path)
            except OSError:
                return None

    def path_exists(self, path: str) -> bool:
        return self._stat(path) is not None

    def isdir(self, path: str) -> bool:
        found = self._stat(path)
        return found is not None and stat.S_ISDIR(found.st_mode or 0)

    def isfile(self, path: str) -> bool:
        found = self._stat(path)
        return found is not None and stat.S_ISREG(found.st_mode or 0)

    def get_mod_time(self, path: str) -> str:
        """When ``path`` last changed, as ``YYYYMMDDHHMMSS`` (local time, as Airflow's)."""
        with self.get_managed_conn() as sftp:
            return _stamp(sftp.stat(path).st_mtime)

    def get_file_by_pattern(self, path: str, fnmatch_pattern: str) -> str:
        """The first name in ``path`` (sorted) matching the pattern, or ``""``."""
        return next(iter(self.get_files_by_pattern(path, fnmatch_pattern)), "")

    def get_files_by_pattern(self, path: str, fnmatch_pattern: str) -> list[str]:
        """The names in ``path`` (sorted) that match the ``fnmatch`` pattern."""
        names = self.list_directory(path) or []
        return [name for name in names if fnmatch.fnmatch(name, fnmatch_pattern)]
