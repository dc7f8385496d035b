"""Airflow 3's assets as a running task sees them, over Conveyor's datasets.

- :class:`Asset` is a :class:`~conveyor.model.datasets.Dataset` with Airflow's ``name`` and
  ``group``; its URI is its identity (the name when no URI is given), and ``Asset.ref(name=)``
  finds an asset of that name made earlier in the same process.
- :class:`OutletEvents` is the context's ``outlet_events``: the extra of each dataset's event,
  and the datasets added to an alias. The try's end records them with its success.
- :class:`AssetEvent` is one recorded event, as ``inlet_events`` and
  ``triggering_asset_events`` list them; :class:`EventsByAsset` is such a mapping.
- :class:`Metadata` is what a task function may ``yield`` to set an event's extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conveyor.exceptions import DagDefinitionError, TaskError
from conveyor.model.datasets import ALIAS_PREFIX, AssetAlias, Dataset

#: Assets made in this process by name, for ``Asset.ref(name=...)``.
_BY_NAME: dict[str, str] = {}
#: The longest partition key an event keeps (the store's column, as Airflow's).
MAX_PARTITION_KEY = 250


class AssetWatcher:
    """``AssetWatcher(name, trigger)``: a trigger the triggerer runs for as long as a DAG
    scheduled on the asset exists; each event it yields is an event of the asset. The name
    tells the asset's watchers apart (and keys the messages a queue's watcher recorded)."""

    def __init__(self, name: str, trigger: Any) -> None:
        if not isinstance(name, str) or not name:
            raise DagDefinitionError(f"AssetWatcher: name must be a non-empty string, got {name!r}")
        if not (callable(getattr(trigger, "serialize", None)) and hasattr(trigger, "run")):
            raise DagDefinitionError(
                f"AssetWatcher {name!r}: trigger must be a trigger (a BaseEventTrigger such as "
                f"MessageQueueTrigger), got {type(trigger).__name__}"
            )
        self.name = name
        self.trigger = trigger

    def __repr__(self) -> str:
        return f"AssetWatcher(name={self.name!r}, trigger={self.trigger!r})"


def _checked_watchers(watchers: Any, uri: str) -> tuple[AssetWatcher, ...]:
    if watchers is None:
        return ()
    if not isinstance(watchers, list | tuple):
        raise DagDefinitionError(f"Asset {uri!r}: watchers must be a list of AssetWatcher")
    names: set[str] = set()
    for watcher in watchers:
        if not isinstance(watcher, AssetWatcher):
            raise DagDefinitionError(
                f"Asset {uri!r}: watchers must be AssetWatcher objects, got {watcher!r}"
            )
        if watcher.name in names:
            raise DagDefinitionError(f"Asset {uri!r}: two watchers are named {watcher.name!r}")
        names.add(watcher.name)
    return tuple(watchers)


class Asset(Dataset):
    """``Asset(name=..., uri=..., group=..., extra=..., watchers=[...])``: a dataset with
    Airflow's name (and the watchers that turn outside events into its events)."""

    name: str
    group: str
    watchers: tuple[AssetWatcher, ...]

    def __init__(
        self,
        name: str | None = None,
        uri: str | None = None,
        *,
        group: str = "asset",
        extra: dict[str, Any] | None = None,
        watchers: list[AssetWatcher] | None = None,
    ) -> None:
        if name is not None and not isinstance(name, str):
            uri, name = str(name), None  # Asset(ObjectStoragePath(...)): its URI
        target = uri if uri is not None else name
        if not target:
            raise DagDefinitionError("Asset needs a name or a uri")
        object.__setattr__(self, "uri", str(target))
        object.__setattr__(self, "extra", dict(extra or {}))
        object.__setattr__(self, "name", name or str(target))
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "watchers", _checked_watchers(watchers, str(target)))
        self.__post_init__()
        _BY_NAME[self.name] = self.uri

    def __repr__(self) -> str:
        return f"Asset(name={self.name!r}, uri={self.uri!r})"

    @staticmethod
    def ref(*, name: str | None = None, uri: str | None = None) -> Asset:
        """The asset of this name (made earlier in this process), or of this URI."""
        if uri is not None:
            return Asset(uri=uri, name=name)
        if not name:
            raise DagDefinitionError("Asset.ref needs name= or uri=")
        return Asset(name=name, uri=_BY_NAME.get(name, name))


def as_asset(value: Any, where: str) -> Dataset | AssetAlias:
    """An ``outlet_events`` / ``inlet_events`` key: an asset, an alias, or a URI."""
    if isinstance(value, str):
        return Dataset(value)
    if isinstance(value, Dataset | AssetAlias):
        return value
    raise TaskError(f"{where}: expected an Asset, Dataset or AssetAlias, got {value!r}")


@dataclass
class OutletEventAccessor:
    """``outlet_events[x]``: the extra of ``x``'s event, or the datasets added to alias ``x``."""

    key: Dataset | AssetAlias
    extra: dict[str, Any] = field(default_factory=dict)
    #: (uri, extra) of each dataset added to an alias.
    added: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: Airflow 3.3's partitions the task updated (``add_partitions``): an event for each.
    partition_keys: set[str] = field(default_factory=set)

    def add_partitions(self, keys: str | list[str]) -> None:
        """The task updated these partitions of the asset: its success records an event of
        each key (none given: one event, of the run's partition)."""
        if isinstance(self.key, AssetAlias):
            raise TypeError(
                "add_partitions() is not supported on asset alias outlet events; "
                "partition keys can only be attached to a concrete asset."
            )
        for key in [keys] if isinstance(keys, str) else list(keys):
            if not isinstance(key, str) or not key.strip():
                raise ValueError(
                    f"partition_key must not be empty or whitespace-only; got {key!r}."
                )
            if len(key) > MAX_PARTITION_KEY:
                raise ValueError(
                    f"partition_key must be at most {MAX_PARTITION_KEY} characters; got {len(key)}."
                )
            self.partition_keys.add(key)

    def add(self, asset: Any, extra: dict[str, Any] | None = None) -> None:
        """An event of ``asset``, emitted through this alias, with ``extra``."""
        if not isinstance(self.key, AssetAlias):
            return  # as in Airflow: add() means something on an alias only
        target = as_asset(asset, f"outlet_events[{self.key!r}].add")
        if not isinstance(target, Dataset):
            raise TaskError(f"outlet_events[{self.key!r}].add: an alias adds datasets, not aliases")
        self.added.append((target.uri, dict(extra or {})))


@dataclass(frozen=True)
class Emitted:
    """What a try's ``outlet_events`` hold at its end, for the store."""

    extras: dict[str, dict[str, Any]]  # uri -> extra, of the task's dataset outlets
    through_aliases: list[tuple[str, str, dict[str, Any]]]  # (alias name, uri, extra)
    #: uri -> the partition keys ``add_partitions`` named, sorted (absent: the run's key).
    partitions: dict[str, list[str]] = field(default_factory=dict)


class OutletEvents(Mapping[Any, OutletEventAccessor]):
    """``context["outlet_events"]``: an accessor per asset or alias, made on first use."""

    def __init__(self) -> None:
        self._found: dict[Dataset | AssetAlias, OutletEventAccessor] = {}

    def __getitem__(self, key: Any) -> OutletEventAccessor:
        target = as_asset(key, "outlet_events[...]")
        if target not in self._found:
            self._found[target] = OutletEventAccessor(target)
        return self._found[target]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._found)

    def __len__(self) -> int:
        return len(self._found)

    def for_asset(self, *, name: str | None = None, uri: str | None = None) -> OutletEventAccessor:
        return self[Asset.ref(name=name, uri=uri)]

    def for_asset_alias(self, *, name: str) -> OutletEventAccessor:
        return self[AssetAlias(name)]

    def emitted(self, outlets: list[Any]) -> Emitted:
        """The events to record for a task with these outlets: undeclared keys are ignored
        (Airflow records events of a task's outlets only), and said so in the try's log."""
        extras: dict[str, dict[str, Any]] = {}
        through: list[tuple[str, str, dict[str, Any]]] = []
        partitions: dict[str, list[str]] = {}
        for key, accessor in self._found.items():
            if key not in outlets:
                if accessor.extra or accessor.added or accessor.partition_keys:
                    print(
                        f"[conveyor] outlet_events[{key!r}] is not an outlet of this task: ignored"
                    )
                continue
            if isinstance(key, AssetAlias):
                through.extend((key.name, uri, extra) for uri, extra in accessor.added)
            else:
                if accessor.extra:
                    extras[key.uri] = dict(accessor.extra)
                if accessor.partition_keys:
                    partitions[key.uri] = sorted(accessor.partition_keys)
        return Emitted(extras, through, partitions)


@dataclass(frozen=True)
class Metadata:
    """``yield Metadata(asset, extra)`` from a task: the extra of ``asset``'s event (through
    ``alias`` when given, which adds ``asset`` to it)."""

    asset: Any
    extra: dict[str, Any] = field(default_factory=dict)
    alias: AssetAlias | None = None

    def apply(self, events: OutletEvents) -> None:
        if self.alias is not None:
            events[self.alias].add(self.asset, self.extra)
        else:
            events[self.asset].extra.update(self.extra)


@dataclass(frozen=True)
class AssetEvent:
    """One recorded update of a dataset, as a task reads it."""

    id: int
    asset: Asset
    extra: dict[str, Any]
    timestamp: datetime
    source_dag_id: str | None
    source_run_id: str | None
    source_task_id: str | None
    source_map_index: int
    source_aliases: list[AssetAlias]
    partition_key: str | None = None  # the partition it updated (Airflow 3.2)

    @property
    def uri(self) -> str:
        return self.asset.uri

    def as_conf(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uri": self.asset.uri,
            "extra": self.extra,
            "at": self.timestamp.isoformat(),
            "source_dag_id": self.source_dag_id,
            "source_run_id": self.source_run_id,
            "source_task_id": self.source_task_id,
            "source_map_index": self.source_map_index,
            "source_aliases": [a.name for a in self.source_aliases],
            "partition_key": self.partition_key,
        }

    @classmethod
    def from_conf(cls, data: dict[str, Any]) -> AssetEvent:
        return cls(
            id=int(data.get("id", 0)),
            asset=Asset(uri=data["uri"]),
            extra=dict(data.get("extra") or {}),
            timestamp=datetime.fromisoformat(data["at"]),
            source_dag_id=data.get("source_dag_id"),
            source_run_id=data.get("source_run_id"),
            source_task_id=data.get("source_task_id"),
            source_map_index=int(data.get("source_map_index", -1)),
            source_aliases=[AssetAlias(n) for n in data.get("source_aliases", [])],
            partition_key=data.get("partition_key"),
        )


class EventsByAsset(Mapping[Any, list[AssetEvent]]):
    """``inlet_events`` and ``triggering_asset_events``: the events of an asset or an alias,
    oldest first, read by ``read(uri_or_alias_key)`` when first asked."""

    def __init__(
        self,
        keys: list[Dataset | AssetAlias],
        read: Callable[[str], list[AssetEvent]],
        what: str,
    ) -> None:
        self._keys = keys
        self._read = read
        self._what = what
        self._cache: dict[str, list[AssetEvent]] = {}

    def __getitem__(self, key: Any) -> list[AssetEvent]:
        if isinstance(key, int) and not isinstance(key, bool):
            if not 0 <= key < len(self._keys):
                raise IndexError(f"{self._what}[{key}]: the task has {len(self._keys)}")
            key = self._keys[key]
        target = as_asset(key, f"{self._what}[...]")
        if target not in self._keys:
            raise KeyError(f"{self._what}[{target!r}]: not one of {self._keys}")
        name = target.key if isinstance(target, AssetAlias) else target.uri
        if name not in self._cache:
            self._cache[name] = self._read(name)
        return self._cache[name]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def for_asset(self, *, name: str | None = None, uri: str | None = None) -> list[AssetEvent]:
        return self[Asset.ref(name=name, uri=uri)]

    def for_asset_alias(self, *, name: str) -> list[AssetEvent]:
        return self[AssetAlias(name)]


def triggering_events(events: list[dict[str, Any]]) -> EventsByAsset:
    """A dataset-triggered run's events (its conf keeps them), by asset and by alias."""
    found = [AssetEvent.from_conf(e) for e in events if isinstance(e, dict) and "uri" in e]
    keys: list[Dataset | AssetAlias] = []
    for event in found:
        found_keys: list[Dataset | AssetAlias] = [event.asset, *event.source_aliases]
        for key in found_keys:
            if key not in keys:
                keys.append(key)

    def read(name: str) -> list[AssetEvent]:
        if name.startswith(ALIAS_PREFIX):
            alias = name[len(ALIAS_PREFIX) :]
            return [e for e in found if any(a.name == alias for a in e.source_aliases)]
        return [e for e in found if e.asset.uri == name]

    return EventsByAsset(keys, read, "triggering_asset_events")


def drain_metadata(generator: Iterator[Any], events: OutletEvents | None) -> Any:
    """Run a task function that is a generator: each ``Metadata`` it yields goes into
    ``events``; other values are ignored, as Airflow does; its ``return`` is the result."""
    while True:
        try:
            item = next(generator)
        except StopIteration as stop:
            return stop.value
        if isinstance(item, Metadata) and events is not None:
            item.apply(events)
