"""``airflow.api.client.local_client.Client``: Airflow's in-process API client.

A thin face over what Conveyor has: ``trigger_dag`` is Conveyor's (``triggering``), the
pool calls are the store's pools; it acts on the store the running try uses (elsewhere, the
configured one). What Conveyor does not do (deleting a DAG, lineage) is refused by name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from conveyor.airflow_compat.exceptions import AirflowBadRequest, PoolNotFound
from conveyor.airflow_compat.triggering import trigger_dag
from conveyor.connections import current_store
from conveyor.exceptions import AirflowException, NotFoundError
from conveyor.store import pools
from conveyor.store.reads import runs as run_reads

#: A pool's row as the local client answers it: name, slots (-1: no limit), description,
#: include_deferred (Conveyor counts no deferred task against a pool: always False).
PoolTuple = tuple[str, int, str | None, bool]


def _pool_tuple(usage: pools.PoolUsage) -> PoolTuple:
    return (usage.name, -1 if usage.slots is None else usage.slots, usage.description, False)


class Client:
    """Airflow 2's local client (``api_base_url``, ``auth`` and ``session`` are ignored:
    it is in-process, as in Airflow)."""

    def __init__(self, api_base_url: Any = None, auth: Any = None, session: Any = None) -> None:
        self._api_base_url = api_base_url

    def trigger_dag(
        self,
        dag_id: str,
        run_id: str | None = None,
        conf: dict[str, Any] | str | None = None,
        execution_date: datetime | None = None,
        replace_microseconds: bool = True,
    ) -> dict[str, Any]:
        """Queue a manual run and describe it as Airflow 2.10's local client does."""
        made = trigger_dag(
            dag_id,
            run_id=run_id,
            conf=conf,
            execution_date=execution_date,
            replace_microseconds=replace_microseconds,
        )
        store, _settings = current_store()
        with store.read() as conn:
            run = run_reads.get_run(conn, made.dag_id, made.run_id)
        return {
            "conf": run.conf,
            "dag_id": run.dag_id,
            "dag_run_id": run.run_id,
            "data_interval_start": run.data_interval_start,
            "data_interval_end": run.data_interval_end,
            "end_date": run.end_date,
            "external_trigger": True,
            "last_scheduling_decision": None,  # Conveyor's scheduler keeps no such mark
            "logical_date": run.logical_date,
            "run_type": run.run_type,
            "start_date": run.start_date,
            "state": run.state,
        }

    def delete_dag(self, dag_id: str) -> str:
        raise AirflowException(
            f"Client.delete_dag({dag_id!r}): Conveyor does not delete a DAG from task code; "
            "remove its file from the DAG folder, and delete finished runs with "
            "DELETE /api/v1/dags/{dag_id}/runs/{run_id} (docs/api.md)"
        )

    def get_pool(self, name: str) -> PoolTuple:
        store, _settings = current_store()
        with store.read() as conn:
            try:
                return _pool_tuple(pools.get_pool(conn, name))
            except NotFoundError:
                raise PoolNotFound(f"Pool {name} not found") from None

    def get_pools(self) -> list[PoolTuple]:
        store, _settings = current_store()
        with store.read() as conn:
            return [_pool_tuple(usage) for usage in pools.list_pools(conn)]

    def create_pool(
        self, name: str, slots: int, description: str | None, include_deferred: bool = False
    ) -> tuple[str, int, str | None]:
        """Create the pool or change it (Airflow: ``Pool.create_or_update_pool``)."""
        if not name or not str(name).strip():
            raise AirflowBadRequest("Pool name shouldn't be empty")
        try:
            count = int(slots)
        except (TypeError, ValueError):
            raise AirflowBadRequest(f"Bad value for `slots`: {slots}") from None
        if include_deferred:
            raise AirflowBadRequest(
                f"pool {name!r}: include_deferred=True is not supported; Conveyor never counts "
                "a deferred task against a pool (give include_deferred=False)"
            )
        store, _settings = current_store()
        try:
            with store.write() as conn:
                pools.set_pool(conn, name, None if count < 0 else count, description or "")
        except pools.PoolError as exc:
            raise AirflowBadRequest(str(exc)) from None
        return (name, count, description)

    def delete_pool(self, name: str) -> tuple[str, int, str | None]:
        store, _settings = current_store()
        try:
            with store.write() as conn:
                found = _pool_tuple(pools.get_pool(conn, name))
                pools.delete_pool(conn, name)
        except NotFoundError:
            raise PoolNotFound(f"Pool {name} not found") from None
        except pools.PoolError as exc:
            raise AirflowBadRequest(str(exc)) from None
        return found[:3]

    def get_lineage(self, dag_id: str, execution_date: datetime) -> dict[str, Any]:
        raise AirflowException(
            f"Client.get_lineage({dag_id!r}): Conveyor records no lineage; declare what a task "
            "writes as outlets=[Dataset(...)] and read the datasets in the web UI"
        )
