"""Datasets: named pieces of data that tasks update and that schedule DAGs.

    orders = Dataset("s3://shop/orders")
    BashOperator(task_id="export", bash_command="...", outlets=[orders])   # producer
    DAG("report", schedule=[orders, customers])                           # consumer
    DAG("either", schedule=orders | customers)                            # any of them

When a task with ``outlets`` succeeds, each of its datasets gets an update event. A DAG
scheduled on datasets runs once its condition holds over the updates since its last
dataset-triggered run: a list means all of them, ``&`` and ``|`` combine (Airflow's
``AssetAll`` and ``AssetAny``). A dataset is only a name (a URI): Conveyor does not read the
data.

An :class:`AssetAlias` is a name a task's outlets carry when the task decides at run time
which datasets it updates (``outlet_events[alias].add(dataset)``). A DAG scheduled on an
alias runs when an update is made through it. In a schedule, an alias is the key
``ALIAS_PREFIX + name``, a URI no dataset may take.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from conveyor.exceptions import DagDefinitionError

#: Longest URI the store keeps (the ``dataset.uri`` column).
MAX_URI_LENGTH = 1000
#: The schedule key (and the store's row) of an alias: Airflow reserves the airflow:// scheme.
ALIAS_PREFIX = "airflow://asset-alias/"


class _Condition:
    """What ``&`` and ``|`` combine: a dataset, an alias, or a combination of them."""

    def __and__(self, other: Any) -> AssetAll:
        return AssetAll(self, _as_condition(other, "&"))

    def __or__(self, other: Any) -> AssetAny:
        return AssetAny(self, _as_condition(other, "|"))

    def schedule_keys(self) -> Iterator[str]:
        """The schedule keys it names: URIs and alias keys, in order."""
        raise NotImplementedError

    def holds(self, updated: set[str]) -> bool:
        """Whether it is true once the keys in ``updated`` have pending updates."""
        raise NotImplementedError

    def as_dict(self) -> Any:
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class Dataset(_Condition):
    """A dataset, named by a URI such as ``s3://bucket/orders`` or ``postgres://db/table``.

    ``extra``: free-form information for people; two datasets are the same when their URIs are.
    """

    uri: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.uri, str) or not self.uri.strip():
            raise DagDefinitionError(f"a Dataset needs a non-empty URI string, got {self.uri!r}")
        if self.uri != self.uri.strip() or len(self.uri) > MAX_URI_LENGTH:
            raise DagDefinitionError(
                f"invalid dataset URI {self.uri!r}: no surrounding spaces, at most "
                f"{MAX_URI_LENGTH} characters"
            )
        if self.uri.startswith(ALIAS_PREFIX):
            raise DagDefinitionError(
                f"invalid dataset URI {self.uri!r}: {ALIAS_PREFIX} names asset aliases; "
                "write AssetAlias(name) for an alias"
            )

    # The same dataset whichever class spelled it (Dataset, Asset): the URI is the identity.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dataset) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(("dataset", self.uri))

    def schedule_keys(self) -> Iterator[str]:
        yield self.uri

    def holds(self, updated: set[str]) -> bool:
        return self.uri in updated

    def as_dict(self) -> Any:
        return self.uri


@dataclass(frozen=True)
class AssetAlias(_Condition):
    """Airflow's ``AssetAlias(name)``: an outlet whose datasets the task names at run time."""

    name: str
    group: str = field(default="asset", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise DagDefinitionError(f"an AssetAlias needs a non-empty name, got {self.name!r}")
        if len(self.key) > MAX_URI_LENGTH:
            raise DagDefinitionError(f"asset alias name {self.name[:50]!r}... is too long")

    @property
    def key(self) -> str:
        return ALIAS_PREFIX + self.name

    def schedule_keys(self) -> Iterator[str]:
        yield self.key

    def holds(self, updated: set[str]) -> bool:
        return self.key in updated

    def as_dict(self) -> Any:
        return {"alias": self.name}


class _Combination(_Condition):
    kind = ""

    def __init__(self, *objects: Any) -> None:
        if not objects:
            raise DagDefinitionError(f"{type(self).__name__}() needs at least one asset")
        self.objects = tuple(_as_condition(o, type(self).__name__) for o in objects)

    def schedule_keys(self) -> Iterator[str]:
        seen: set[str] = set()
        for obj in self.objects:
            for key in obj.schedule_keys():
                if key not in seen:
                    seen.add(key)
                    yield key

    def as_dict(self) -> Any:
        return {self.kind: [o.as_dict() for o in self.objects]}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.objects == self.objects

    def __hash__(self) -> int:
        return hash((self.kind, self.objects))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.objects))})"


class AssetAll(_Combination):
    """True once every one of its parts is (``a & b``; a list in ``schedule=``)."""

    kind = "all"

    def holds(self, updated: set[str]) -> bool:
        return all(o.holds(updated) for o in self.objects)


class AssetAny(_Combination):
    """True once any of its parts is (``a | b``)."""

    kind = "any"

    def holds(self, updated: set[str]) -> bool:
        return any(o.holds(updated) for o in self.objects)


Condition = _Condition


def _as_condition(value: Any, where: str) -> _Condition:
    if isinstance(value, str):
        return Dataset(value)
    if isinstance(value, _Condition):
        return value
    raise DagDefinitionError(
        f"{where}: expected Dataset, Asset or AssetAlias objects (or URI strings), got {value!r}"
    )


def as_condition(value: Any, where: str) -> _Condition:
    """A schedule's condition: a list or tuple means all of them."""
    if isinstance(value, list | tuple):
        return AssetAll(*value)
    return _as_condition(value, where)


def condition_from_dict(data: Any) -> _Condition:
    """The inverse of ``as_dict``."""
    if isinstance(data, str):
        return Dataset(data)
    if isinstance(data, dict) and "alias" in data:
        return AssetAlias(data["alias"])
    if isinstance(data, dict) and ("all" in data or "any" in data):
        kind = AssetAll if "all" in data else AssetAny
        parts = data["all"] if "all" in data else data["any"]
        return kind(*(condition_from_dict(d) for d in parts))
    raise DagDefinitionError(f"cannot read dataset condition {data!r}")


def as_datasets(values: Iterable[Any], where: str) -> list[Dataset]:
    """Datasets from a list of Dataset objects or URI strings; a clear error otherwise."""
    if isinstance(values, str | Dataset):
        values = [values]
    found: list[Dataset] = []
    for value in values:
        if isinstance(value, str):
            value = Dataset(value)
        if not isinstance(value, Dataset):
            raise DagDefinitionError(
                f"{where}: expected Dataset objects (or URI strings), got {value!r}"
            )
        if value not in found:
            found.append(value)
    return found


def as_outlets(values: Any, where: str) -> list[Dataset | AssetAlias]:
    """A task's outlets or inlets: datasets (or URI strings) and aliases, each once."""
    if values is None:
        return []
    if isinstance(values, str | _Condition) and not isinstance(values, _Combination):
        values = [values]
    found: list[Dataset | AssetAlias] = []
    for value in values:
        if isinstance(value, str):
            value = Dataset(value)
        if isinstance(value, _Combination):
            found.extend(o for o in as_outlets(list(value.objects), where) if o not in found)
            continue
        if not isinstance(value, Dataset | AssetAlias):
            raise DagDefinitionError(
                f"{where}: expected Dataset, Asset or AssetAlias objects (or URI strings), "
                f"got {value!r}"
            )
        if value not in found:
            found.append(value)
    return found


def is_alias_key(key: str) -> bool:
    """Whether a schedule key names an alias (else a dataset's URI)."""
    return key.startswith(ALIAS_PREFIX)
