"""The asset watchers a DAG's schedule names, in the form its serialized DAG keeps.

Each watcher of each asset of the schedule's condition becomes ``{"uri", "name",
"classpath", "kwargs"}`` (its trigger's ``serialize()`` as JSON): the DAG's registration
stores them (``store/asset_watchers.py``) and a triggerer runs them from that form.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conveyor.exceptions import DagDefinitionError
from conveyor.model.dag import DAG
from conveyor.triggers.serialization import TriggerSerializationError, serialize

#: The serialized DAG's key (present only when the DAG has watchers: other DAGs' hashes stay).
KEY = "asset_watchers"


def watcher_fields(dag: DAG) -> dict[str, Any]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for asset in _assets(getattr(dag.schedule, "condition", None)):
        for watcher in getattr(asset, "watchers", ()):
            try:
                classpath, kwargs = serialize(watcher.trigger)
            except TriggerSerializationError as exc:
                raise DagDefinitionError(
                    f"DAG {dag.dag_id!r}: asset {asset.uri!r} watcher {watcher.name!r}: {exc}"
                ) from exc
            found[(asset.uri, watcher.name)] = {
                "uri": asset.uri,
                "name": watcher.name,
                "classpath": classpath,
                "kwargs": kwargs,
            }
    return {KEY: list(found.values())} if found else {}


def _assets(condition: Any) -> Iterator[Any]:
    """Every asset object of a condition, nested ``&``/``|`` included."""
    if condition is None:
        return
    parts = getattr(condition, "objects", None)
    if parts is None:
        yield condition
        return
    for part in parts:
        yield from _assets(part)
