"""Datasets: named pieces of data that tasks update and that schedule DAGs.

    orders = Dataset("s3://shop/orders")
    BashOperator(task_id="export", bash_command="...", outlets=[orders])   # producer
    DAG("report", schedule=[orders, customers])                           # consumer

When a task with ``outlets`` succeeds, each of its datasets gets an update event. A DAG
scheduled on datasets runs once every one of its datasets has been updated since its last
dataset-triggered run. A dataset is only a name (a URI): Conveyor does not read the data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from conveyor.exceptions import DagDefinitionError

#: Longest URI the store keeps (the ``dataset.uri`` column).
MAX_URI_LENGTH = 1000


@dataclass(frozen=True)
class Dataset:
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
