"""``task_state_store`` and ``asset_state_store`` in a task's context (Airflow 3.3).

``task_state_store``: values one task instance keeps across its tries (and clears) in its
run, so that a retry picks up where a failed try left off; each instance of a mapped task
has its own. ``asset_state_store``: values kept on each asset the task names as an inlet or
outlet (a watermark, say), shared by every run of every DAG that names the asset;
``asset_state_store[asset]`` is one asset's, and a task with a single asset may call the
methods on ``asset_state_store`` itself. Both read and write the store directly, as XComs
do, so a try on a Celery worker reaches them as a local one does.

Values are strict JSON, never None. ``retention`` sets when a task value expires (kept as
its ``expires_at``, shown by the API; ``NEVER_EXPIRE``: never; None: Airflow's
``[state_store] default_retention_days``, 0 for never). With Airflow's ``[state_store]
clear_on_success`` on, an instance's task state goes when a try succeeds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from conveyor.airflow_compat.configuration import conf
from conveyor.clock import utcnow
from conveyor.exceptions import TaskError
from conveyor.model.datasets import AssetAlias, Dataset
from conveyor.store import state_store
from conveyor.store.datasets import alias_uris, dataset_id, dataset_id_of
from conveyor.store.state_store import BY_TASK, Writer
from conveyor.worker.context import TaskInstanceHandle, check_json

#: Airflow's retention that never expires (``airflow.sdk.execution_time.context``).
NEVER_EXPIRE: timedelta = timedelta.max


def expires_at(retention: timedelta | None, now: datetime | None = None) -> datetime | None:
    """When a value written now with ``retention`` expires; None: never."""
    if retention is not None and not isinstance(retention, timedelta):
        raise TaskError(
            "retention must be a datetime.timedelta or NEVER_EXPIRE, not "
            f"{type(retention).__name__}"
        )
    if retention == NEVER_EXPIRE:
        return None
    now = now or utcnow()
    if retention is None:
        days = conf.getint("state_store", "default_retention_days")
        if days < 0:
            raise TaskError(
                f"[state_store] default_retention_days must be >= 0, got {days}; "
                "set it to 0 to keep task state forever"
            )
        return None if days == 0 else now + timedelta(days=days)
    try:
        return now + retention
    except OverflowError:  # a retention past year 9999: as good as never
        return None


#: Airflow's own backend: values in the metadata database, which is what Conveyor does.
DEFAULT_BACKEND = "airflow.state.metastore.MetastoreBackend"


def check_backend() -> None:
    """TaskError when the configuration asks for a state backend Conveyor does not have:
    values kept elsewhere than the store would silently not be."""
    worker_backend = conf.get("workers", "state_store_backend", fallback="")
    if worker_backend:
        raise TaskError(
            f"[workers] state_store_backend = {worker_backend!r}: Conveyor keeps task and "
            "asset state in its store only; unset it (AIRFLOW__WORKERS__STATE_STORE_BACKEND)"
        )
    backend = conf.get("state_store", "backend", fallback=DEFAULT_BACKEND)
    if backend != DEFAULT_BACKEND:
        raise TaskError(
            f"[state_store] backend = {backend!r}: Conveyor keeps task and asset state in its "
            f"store only ({DEFAULT_BACKEND}); unset it (AIRFLOW__STATE_STORE__BACKEND)"
        )


def _checked_value(key: str, value: Any, what: str) -> None:
    if value is None:
        raise ValueError(f"Cannot set value as None ({what} {key!r}: delete the key instead)")
    check_json(value, f"{what} {key!r}")


class TaskStateStore:
    """``context["task_state_store"]``: ``get``/``set``/``delete``/``clear`` of this task
    instance's values (and ``aget``/``aset``/``adelete``/``aclear`` for async tasks)."""

    def __init__(self, ti: TaskInstanceHandle) -> None:
        self._ti = ti

    def get(self, key: str, default: Any = None) -> Any:
        check_backend()
        ti = self._ti
        with ti._store.read() as conn:
            found = state_store.task_entry(conn, ti._run.id, ti.task_id, ti.map_index, key)
        return default if found is None else found.value

    def set(self, key: str, value: Any, *, retention: timedelta | None = None) -> None:
        check_backend()
        ti = self._ti
        _checked_value(key, value, f"task state of task {ti.task_id!r}")
        until = expires_at(retention)
        with ti._store.write() as conn:
            state_store.set_task_value(
                conn, ti._run.id, ti.task_id, ti.map_index, key, value, until
            )

    def delete(self, key: str) -> None:
        """Delete one key; nothing happens when there is none."""
        ti = self._ti
        with ti._store.write() as conn:
            state_store.delete_task_value(conn, ti._run.id, ti.task_id, ti.map_index, key)

    def clear(self) -> None:
        """Delete every key of this task instance."""
        ti = self._ti
        with ti._store.write() as conn:
            state_store.clear_task_values(conn, ti._run.id, ti.task_id, ti.map_index)

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.get(key, default)

    async def aset(self, key: str, value: Any, *, retention: timedelta | None = None) -> None:
        self.set(key, value, retention=retention)

    async def adelete(self, key: str) -> None:
        self.delete(key)

    async def aclear(self) -> None:
        self.clear()

    def __repr__(self) -> str:
        return f"<TaskStateStoreAccessor {self._ti.task_id} map_index={self._ti.map_index}>"


class AssetStateStore:
    """One asset's values: ``context["asset_state_store"][asset]``."""

    def __init__(self, ti: TaskInstanceHandle, asset: Dataset) -> None:
        self._ti = ti
        self._asset = asset

    def _writer(self) -> Writer:
        ti = self._ti
        return Writer(BY_TASK, ti.dag_id, ti._run.run_id, ti.task_id, ti.map_index)

    def get(self, key: str, default: Any = None) -> Any:
        check_backend()
        with self._ti._store.read() as conn:
            found_id = dataset_id_of(conn, self._asset.uri)
            found = None if found_id is None else state_store.asset_entry(conn, found_id, key)
        return default if found is None else found.value

    def set(self, key: str, value: Any) -> None:
        check_backend()
        _checked_value(key, value, f"asset state of {self._asset.uri!r}")
        with self._ti._store.write() as conn:
            found_id = dataset_id(conn, self._asset.uri)
            state_store.set_asset_value(conn, found_id, key, value, self._writer())

    def delete(self, key: str) -> None:
        """Delete one key; nothing happens when there is none."""
        with self._ti._store.write() as conn:
            found_id = dataset_id_of(conn, self._asset.uri)
            if found_id is not None:
                state_store.delete_asset_value(conn, found_id, key)

    def clear(self) -> None:
        """Delete every key of the asset."""
        with self._ti._store.write() as conn:
            found_id = dataset_id_of(conn, self._asset.uri)
            if found_id is not None:
                state_store.clear_asset_values(conn, found_id)

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.set(key, value)

    async def adelete(self, key: str) -> None:
        self.delete(key)

    async def aclear(self) -> None:
        self.clear()

    def __repr__(self) -> str:
        return f"<AssetStateStoreAccessor uri={self._asset.uri!r}>"


class AssetStateStores:
    """``context["asset_state_store"]``: one :class:`AssetStateStore` per asset among the
    task's inlets and outlets. An alias among the inlets stands for the assets events were
    emitted to through it; one among the outlets for none (both as in Airflow)."""

    def __init__(
        self, ti: TaskInstanceHandle, assets: Iterable[Any], inlet_aliases: Iterable[Any] = ()
    ) -> None:
        self._by_uri: dict[str, AssetStateStore] = {}
        for asset in assets:
            if isinstance(asset, Dataset) and not isinstance(asset, AssetAlias):
                self._by_uri.setdefault(asset.uri, AssetStateStore(ti, asset))
        names = [a.name for a in inlet_aliases if isinstance(a, AssetAlias)]
        if names:
            with ti._store.read() as conn:
                uris = [uri for name in names for uri in alias_uris(conn, name)]
            for uri in uris:
                self._by_uri.setdefault(uri, AssetStateStore(ti, Dataset(uri)))

    def __getitem__(self, asset: Any) -> AssetStateStore:
        if not isinstance(asset, Dataset) or isinstance(asset, AssetAlias):
            raise TypeError(f"Expected an Asset; got {type(asset).__name__}")
        found = self._by_uri.get(asset.uri)
        if found is None:
            raise KeyError(f"{asset!r} is not in this task's inlets or outlets")
        return found

    def __contains__(self, asset: Any) -> bool:
        return isinstance(asset, Dataset) and asset.uri in self._by_uri

    def _single(self) -> AssetStateStore:
        if len(self._by_uri) != 1:
            raise ValueError(
                f"Task has {len(self._by_uri)} concrete inlets and outlets: use "
                "context['asset_state_store'][MY_ASSET] to say which"
            )
        return next(iter(self._by_uri.values()))

    def get(self, key: str, default: Any = None) -> Any:
        return self._single().get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._single().set(key, value)

    def delete(self, key: str) -> None:
        self._single().delete(key)

    def clear(self) -> None:
        self._single().clear()

    async def aget(self, key: str, default: Any = None) -> Any:
        return self._single().get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self._single().set(key, value)

    async def adelete(self, key: str) -> None:
        self._single().delete(key)

    async def aclear(self) -> None:
        self._single().clear()

    def __repr__(self) -> str:
        return f"<AssetStateStoreAccessors [{', '.join(f'uri={u!r}' for u in self._by_uri)}]>"


def clear_on_success(context: dict[str, Any]) -> None:
    """After a success, the instance's task state goes when Airflow's ``[state_store]
    clear_on_success`` is on (off by default: what the task wrote stays to be read)."""
    store = context.get("task_state_store")
    if isinstance(store, TaskStateStore) and conf.getboolean("state_store", "clear_on_success"):
        store.clear()


def asset_state_stores(ti: TaskInstanceHandle) -> AssetStateStores | None:
    """The task's ``asset_state_store``, or None when it names no asset or alias (Airflow
    leaves the key out of such a task's context)."""
    task = ti.task
    inlets = list(getattr(task, "inlets", None) or [])
    named = [*inlets, *(getattr(task, "outlets", None) or [])]
    if not any(isinstance(a, (Dataset, AssetAlias)) for a in named):
        return None
    return AssetStateStores(ti, named, inlets)
