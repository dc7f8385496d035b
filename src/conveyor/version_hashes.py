"""The hashes that name a DAG's source and its versions.

A version's hash covers the serialized structure and the file's source, so a change to
either makes a new version. They live apart from :mod:`conveyor.serialized` (the shapes,
with the schedules and croniter beneath them) because the store's DAG writer needs only
these: a command line that syncs an unchanged DAG folder imports no shape.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def version_hash(serialized: dict[str, Any], src_hash: str) -> str:
    return hashlib.sha256(f"{src_hash}\n{canonical_json(serialized)}".encode()).hexdigest()
