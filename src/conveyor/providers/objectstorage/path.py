"""``ObjectStoragePath``: Airflow's path to a file in object storage or on local disk,
``ObjectStoragePath("s3://bucket/data/", conn_id="aws_default")`` (or
``"s3://aws_default@bucket/data/"``, as ``str`` writes a path with a connection), with
pathlib's joining (``/``) and names, and the file operations Airflow documents, on the fsspec
filesystem ``filesystems.py`` gives its scheme. A path without a scheme, or ``file://``, is
local.

``key`` is the path inside the bucket, ``bucket`` (``container``) the bucket; ``stat()``
answers ``st_size``/``st_mtime`` and the filesystem's own fields; ``copy`` and ``move`` work
across filesystems (s3 to local and back).
"""

from __future__ import annotations

import fnmatch
import posixpath
import shutil
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import urlsplit

from conveyor.providers.objectstorage.filesystems import FileSystem, filesystem

_LOCAL = ("file", "local")


class StatResult(dict[str, Any]):
    """What the filesystem says of a path (``size``, ``type``...), also as ``st_size``,
    ``st_mtime`` and ``st_mode`` as ``os.stat`` spells them."""

    def __getattr__(self, name: str) -> Any:
        if name == "st_size":
            return self.get("size")
        if name == "st_mtime":
            value: Any = next(
                (
                    self[k]
                    for k in ("mtime", "last_modified", "LastModified", "created")
                    if k in self
                ),
                None,
            )
            return value.timestamp() if hasattr(value, "timestamp") else value
        if name == "st_mode":
            return self.get("mode", 0o40755 if self.get("type") == "directory" else 0o100644)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class ObjectStoragePath:
    """A path in object storage (``s3://bucket/key``) or on local disk (``file:///tmp/x``)."""

    sep = "/"
    protocol: str
    conn_id: str | None
    storage_options: dict[str, Any]

    def __init__(self, *parts: Any, conn_id: str | None = None, **storage_options: Any) -> None:
        if not parts:
            raise TypeError("ObjectStoragePath needs a path (s3://bucket/key, file:///dir)")
        first = parts[0]
        if isinstance(first, ObjectStoragePath):
            conn_id = conn_id if conn_id is not None else first.conn_id
            storage_options = {**first.storage_options, **storage_options}
            first = str(first)
        text = str(first)
        for part in parts[1:]:
            text = posixpath.join(text, str(part))
        split = urlsplit(text)
        # ``s3://conn_id@bucket/key``: the connection named in the URL (as ``str`` writes
        # it), unless one is given.
        userinfo, named, host = split.netloc.rpartition("@")
        if named:
            conn_id = conn_id if conn_id is not None else (userinfo or None)
            split = split._replace(netloc=host)
            text = split.geturl() if split.scheme else text
        self.protocol = (split.scheme or "file").lower()
        if self.protocol in _LOCAL:
            self._bucket = ""
            path = split.path if split.scheme else text
            self._path = posixpath.normpath(path) if path else "/"
        else:
            self._bucket = split.netloc
            self._path = posixpath.normpath("/" + split.path.lstrip("/")) if split.path else "/"
        self.conn_id = conn_id
        self.storage_options = storage_options

    # -- names ---------------------------------------------------------------------------

    def __str__(self) -> str:
        if self.conn_id:
            # The connection travels with the text: ``ObjectStoragePath(str(path))`` is
            # the same path on the same connection.
            return f"{self.protocol}://{self.conn_id}@{self.path}"
        if self.protocol in _LOCAL:
            return f"file://{self._path}"
        return f"{self.protocol}://{self._bucket}{'' if self._path == '/' else self._path}"

    def __repr__(self) -> str:
        return f"ObjectStoragePath({str(self)!r}, conn_id={self.conn_id!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObjectStoragePath):
            return NotImplemented
        return (str(self), self.conn_id) == (str(other), other.conn_id)

    def __hash__(self) -> int:
        return hash((str(self), self.conn_id))

    def __truediv__(self, other: Any) -> ObjectStoragePath:
        return self.joinpath(other)

    def __fspath__(self) -> str:
        if self.protocol not in _LOCAL:
            raise TypeError(f"{self} is not a local file: open it with .open()")
        return self._path

    def joinpath(self, *parts: Any) -> ObjectStoragePath:
        return self._at(posixpath.join(self._path, *(str(p).lstrip("/") for p in parts)))

    def _at(self, path: str) -> ObjectStoragePath:
        """This store's path ``path`` (absolute within the bucket)."""
        if self.protocol in _LOCAL:
            url = f"file://{path}"
        else:
            url = f"{self.protocol}://{self._bucket}/{path.lstrip('/')}"
        return ObjectStoragePath(url, conn_id=self.conn_id, **self.storage_options)

    @property
    def name(self) -> str:
        return posixpath.basename(self._path)

    @property
    def suffix(self) -> str:
        return posixpath.splitext(self.name)[1]

    @property
    def stem(self) -> str:
        return posixpath.splitext(self.name)[0]

    @property
    def parent(self) -> ObjectStoragePath:
        return self._at(posixpath.dirname(self._path))

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(p for p in self._path.split("/") if p)

    def with_name(self, name: str) -> ObjectStoragePath:
        return self.parent / name

    def with_suffix(self, suffix: str) -> ObjectStoragePath:
        return self.parent / (self.stem + suffix)

    @property
    def bucket(self) -> str:
        return self._bucket

    container = bucket

    @property
    def key(self) -> str:
        """The path inside the bucket (no leading slash)."""
        return self._path.lstrip("/") if self.protocol not in _LOCAL else self._path

    @property
    def namespace(self) -> str:
        return f"{self.protocol}://{self._bucket}" if self._bucket else self.protocol

    @property
    def path(self) -> str:
        """The path as the filesystem takes it: ``bucket/key``, or the local path."""
        if self.protocol in _LOCAL:
            return self._path
        return f"{self._bucket}/{self.key}".rstrip("/")

    @property
    def fs(self) -> FileSystem:
        return filesystem(self.protocol, self.conn_id, self.storage_options)

    def samestore(self, other: ObjectStoragePath) -> bool:
        return (self.protocol, self.conn_id, self._bucket) == (
            other.protocol,
            other.conn_id,
            other._bucket,
        )

    # -- queries -------------------------------------------------------------------------

    def exists(self) -> bool:
        return bool(self.fs.exists(self.path))

    def is_dir(self) -> bool:
        return bool(self.fs.isdir(self.path))

    def is_file(self) -> bool:
        return bool(self.fs.isfile(self.path))

    def stat(self) -> StatResult:
        return StatResult(self.fs.info(self.path))

    def size(self) -> int:
        return int(self.fs.size(self.path))

    def iterdir(self) -> Iterator[ObjectStoragePath]:
        for entry in self.fs.ls(self.path, detail=False):
            child = self._from_fs(entry)
            if child != self:
                yield child

    def glob(self, pattern: str) -> Iterator[ObjectStoragePath]:
        for entry in sorted(self.fs.glob(posixpath.join(self.path, pattern))):
            yield self._from_fs(entry)

    def rglob(self, pattern: str) -> Iterator[ObjectStoragePath]:
        for entry in sorted(self.fs.find(self.path)):
            if fnmatch.fnmatch(posixpath.basename(entry), pattern):
                yield self._from_fs(entry)

    def _from_fs(self, entry: str) -> ObjectStoragePath:
        """The path of an entry the filesystem listed (``bucket/key`` or a local path)."""
        if self.protocol in _LOCAL:
            return self._at(entry)
        return self._at(entry.partition("/")[2])

    # -- reading and writing -------------------------------------------------------------

    def open(self, mode: str = "r", **kwargs: Any) -> IO[Any]:
        if "w" in mode and self.protocol in _LOCAL:
            self.fs.makedirs(posixpath.dirname(self.path), exist_ok=True)
        return self.fs.open(self.path, mode, **kwargs)  # type: ignore[no-any-return]

    def read_bytes(self) -> bytes:
        with self.open("rb") as f:
            return bytes(f.read())

    def read_text(self, encoding: str | None = None, errors: str | None = None) -> str:
        return self.read_bytes().decode(encoding or "utf-8", errors or "strict")

    def write_bytes(self, data: bytes) -> int:
        with self.open("wb") as f:
            f.write(data)
        return len(data)

    def write_text(
        self,
        data: str,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> int:
        if newline is not None:
            data = data.replace("\n", newline)
        self.write_bytes(data.encode(encoding or "utf-8", errors or "strict"))
        return len(data)

    def touch(self, exist_ok: bool = True) -> None:
        if self.exists():
            if not exist_ok:
                raise FileExistsError(str(self))
            return
        self.fs.touch(self.path)

    def mkdir(self, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        """Make the folder (on S3: the bucket, when missing; folders are key prefixes)."""
        if self.protocol not in _LOCAL:
            self.fs.makedirs(self.path, exist_ok=exist_ok)
            return
        if self.exists() and not exist_ok:
            raise FileExistsError(str(self))
        if not parents and not self.parent.exists():
            raise FileNotFoundError(str(self.parent))
        self.fs.makedirs(self.path, exist_ok=True)

    def unlink(self, missing_ok: bool = False) -> None:
        if not self.exists():
            if missing_ok:
                return
            raise FileNotFoundError(str(self))
        self.fs.rm(self.path)

    def rmdir(self, recursive: bool = True) -> None:
        self.fs.rm(self.path, recursive=recursive)

    # -- copying -------------------------------------------------------------------------

    def copy(self, dst: ObjectStoragePath | str, recursive: bool = False, **kwargs: Any) -> None:
        """Copy to ``dst`` (into it when it is a folder), on the same store or another."""
        target = dst if isinstance(dst, ObjectStoragePath) else ObjectStoragePath(dst)
        if self.is_dir():
            if not recursive:
                raise IsADirectoryError(f"{self} is a folder: copy(..., recursive=True)")
            for entry in self.fs.find(self.path):
                source = self._from_fs(entry)
                source.copy(target / posixpath.relpath(source._path, self._path), **kwargs)
            return
        if target.is_dir() or str(dst).endswith("/"):
            target = target / self.name
        if self.samestore(target):
            self.fs.copy(self.path, target.path, **kwargs)
            return
        with self.open("rb") as source_file, target.open("wb") as target_file:
            shutil.copyfileobj(source_file, target_file)

    def move(self, dst: ObjectStoragePath | str, recursive: bool = False, **kwargs: Any) -> None:
        """Copy to ``dst``, then remove this path."""
        self.copy(dst, recursive=recursive, **kwargs)
        self.fs.rm(self.path, recursive=recursive)
