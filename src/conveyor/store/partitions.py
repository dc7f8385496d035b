"""The partition keys of runs: which runs are for a partition, and forgetting a run's key
(Airflow's ``clearPartitions``: the run stays, no longer counted as that partition's)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, or_, select, update

from conveyor.clock import utcnow
from conveyor.store.tables import dag_run


def runs_of_partition(conn: Connection, dag_id: str, partition_key: str) -> list[str]:
    """The run ids of the DAG's runs for ``partition_key``, oldest first."""
    rows = conn.execute(
        select(dag_run.c.run_id)
        .where(dag_run.c.dag_id == dag_id, dag_run.c.partition_key == partition_key)
        .order_by(dag_run.c.id)
    )
    return [str(run_id) for run_id in rows.scalars()]


def runs_in_date_window(
    conn: Connection, dag_id: str, start: datetime | None, end: datetime | None
) -> list[str]:
    """The run ids of the DAG's runs whose ``partition_date`` is within ``[start, end]``
    (a bound None: open), by partition date then run id."""
    date = dag_run.c.partition_date
    statement = select(dag_run.c.run_id).where(dag_run.c.dag_id == dag_id, date.is_not(None))
    if start is not None:
        statement = statement.where(date >= start)
    if end is not None:
        statement = statement.where(date <= end)
    rows = conn.execute(statement.order_by(date, dag_run.c.run_id))
    return [str(run_id) for run_id in rows.scalars()]


def forget_partition_keys(conn: Connection, dag_id: str, run_ids: Sequence[str]) -> int:
    """Empty the partition key and date of these runs of the DAG; how many had either."""
    if not run_ids:
        return 0
    done = conn.execute(
        update(dag_run)
        .where(
            dag_run.c.dag_id == dag_id,
            dag_run.c.run_id.in_(list(run_ids)),
            or_(dag_run.c.partition_key.is_not(None), dag_run.c.partition_date.is_not(None)),
        )
        .values(partition_key=None, partition_date=None, updated_at=utcnow())
    )
    return int(done.rowcount)
