"""A try's pod that never leaves Pending (unschedulable: no node has the memory it asks for)
fails its try after ``worker_pods_pending_timeout`` with the cluster's reason, and is deleted.

The cluster is a launcher of the test's own that takes every pod and keeps it pending with
the reason a cluster gives, as ``launchers.ClusterLauncher`` reads it from a pod's
``PodScheduled`` condition; the scheduler, the executor and the store are real.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from conftest import describe_runs, make_settings
from conveyor.executors.kubernetes.executor import KubernetesExecutor
from conveyor.executors.kubernetes.launchers import PENDING, PodState
from conveyor.loading.builder import processor_for
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RUN_FINISHED, TaskState
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, task_event, task_instance

UNSCHEDULABLE = "Unschedulable: 0/3 nodes are available: 3 Insufficient memory."

DAG_FILE = """
from datetime import datetime, timedelta
from conveyor import DAG, PythonOperator

with DAG("waits_for_a_node", schedule=None, start_date=datetime(2026, 1, 1)):
    PythonOperator(
        task_id="big", python_callable=lambda: None, retries=1, retry_delay=timedelta(0)
    )
"""


class PendingCluster:
    """Takes every pod and never schedules it."""

    def __init__(self) -> None:
        self.made: dict[str, PodState] = {}
        self.deleted: list[str] = []

    def create(self, pod: Any) -> str | None:
        meta = pod.metadata
        self.made[meta.name] = PodState(
            meta.name, meta.namespace, dict(meta.labels), PENDING, UNSCHEDULABLE
        )
        return None

    def pods(self) -> list[PodState]:
        return list(self.made.values())

    def logs(self, name: str, namespace: str, tail: int | None = None) -> str:
        return ""

    def delete(self, name: str, namespace: str, grace: float) -> None:
        self.deleted.append(name)
        self.made.pop(name, None)


def test_a_pod_pending_past_the_timeout_fails_its_try_with_the_reason_and_is_deleted(
    tmp_path: Path, store: Store
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "waits.py").write_text(DAG_FILE)
    settings = make_settings(
        tmp_path,
        dags,
        store.url,
        executor="kubernetes",
        kubernetes_worker_pods_pending_timeout=0.5,
    )
    cluster = PendingCluster()

    def scheduler() -> Scheduler:
        executor = KubernetesExecutor(settings, store, cluster)
        return Scheduler(settings, store, executor, processor_for(settings, store))

    def parsed() -> bool:
        with store.read() as conn:
            return conn.execute(select(dag.c.dag_id)).first() is not None

    scheduler().run(until=parsed)
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, "waits_for_a_node", created_by="test")

    def finished() -> bool:
        with store.read() as conn:
            state = conn.execute(select(dag_run.c.state).where(dag_run.c.id == run_pk)).scalar()
        return state in RUN_FINISHED

    deadline = time.monotonic() + 60
    scheduler().run(until=lambda: finished() or time.monotonic() > deadline)
    assert finished(), describe_runs(store)

    with store.read() as conn:
        state = conn.execute(select(task_instance.c.state)).scalar()
        said = conn.execute(
            select(task_event.c.try_number, task_event.c.message).order_by(task_event.c.id)
        ).all()
    assert state == TaskState.FAILED.value
    # Both tries (the first, then its retry) waited for a node; the timeline that `tasks why`
    # reads says why each failed.
    why = {n: m for n, m in said if "worker_pods_pending_timeout" in m}
    assert sorted(why) == [1, 2], said
    for message in why.values():
        assert "did not start within 0.5s (worker_pods_pending_timeout)" in message
        assert UNSCHEDULABLE in message
    assert len(cluster.deleted) == 2 and not cluster.made  # no pod left waiting
