"""Which fsspec filesystem serves each URL scheme: ``FACTORIES`` maps a scheme to a factory
``(conn_id, storage_options) -> fsspec.AbstractFileSystem``, named as ``"module:function"``
so that a provider's libraries load only when a path of its scheme is used. Another scheme
is one more entry (``register_filesystem("abfs", "module:factory")``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from conveyor.providers._extras import load

#: fsspec's filesystem type, for annotations; fsspec comes with each scheme's extra.
FileSystem = Any
Factory = Callable[[str | None, dict[str, Any]], FileSystem]

FACTORIES: dict[str, str | Factory] = {
    "file": "conveyor.providers.objectstorage.filesystems:local_filesystem",
    "local": "conveyor.providers.objectstorage.filesystems:local_filesystem",
    "s3": "conveyor.providers.amazon.filesystem:s3_filesystem",
    "s3a": "conveyor.providers.amazon.filesystem:s3_filesystem",
    "gs": "conveyor.providers.google.filesystem:gcs_filesystem",
    "gcs": "conveyor.providers.google.filesystem:gcs_filesystem",
}

_made: dict[tuple[str, str | None, str], FileSystem] = {}


def register_filesystem(scheme: str, factory: str | Factory) -> None:
    """Serve ``scheme://`` paths with ``factory`` (a callable or ``"module:function"``)."""
    FACTORIES[scheme] = factory


def local_filesystem(conn_id: str | None, storage_options: dict[str, Any]) -> FileSystem:
    fsspec = load("fsspec", "objectstorage", "ObjectStoragePath")
    return fsspec.filesystem("file", **storage_options)


def filesystem(scheme: str, conn_id: str | None, storage_options: dict[str, Any]) -> FileSystem:
    """The filesystem of ``scheme`` on connection ``conn_id``, made once per process."""
    factory = FACTORIES.get(scheme)
    if factory is None:
        raise ValueError(
            f"ObjectStoragePath: no filesystem for the scheme {scheme!r} in Conveyor "
            f"(it has {', '.join(sorted(FACTORIES))})"
        )
    key = (scheme, conn_id, repr(sorted(storage_options.items())))
    if key not in _made:
        if isinstance(factory, str):
            module, _, name = factory.partition(":")
            factory = getattr(importlib.import_module(module), name)
        _made[key] = factory(conn_id, storage_options)
    return _made[key]
