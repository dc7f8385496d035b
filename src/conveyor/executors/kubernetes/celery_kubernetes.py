"""Celery and Kubernetes side by side (Airflow's ``CeleryKubernetesExecutor``, and Airflow
3's ``executor = CeleryExecutor,KubernetesExecutor``): a try of the queue
``celery_kubernetes_queue`` (``kubernetes`` by default), or of a task that asks for
``executor="KubernetesExecutor"``, runs in a pod; every other try goes to the Celery workers.
"""

from __future__ import annotations

from datetime import datetime

from conveyor.config import Settings
from conveyor.engine.progress import QueuedTry
from conveyor.executors.base import Executor
from conveyor.executors.kubernetes.executor import KubernetesExecutor, task_raw

#: The names a task's ``executor=`` gives the Kubernetes executor.
KUBERNETES_NAMES = frozenset({"KubernetesExecutor", "kubernetes"})


class CeleryKubernetesExecutor(Executor):
    sees_ends = False  # the Celery side's tries end on its workers

    def __init__(
        self, settings: Settings, celery: Executor, kubernetes: KubernetesExecutor
    ) -> None:
        self.settings = settings
        self.celery = celery
        self.kubernetes = kubernetes

    def to_pods(self, work: QueuedTry) -> bool:
        if work.queue == self.settings.celery_kubernetes_queue:
            return True
        return task_raw(self.kubernetes.store, work).get("executor") in KUBERNETES_NAMES

    def start(self) -> None:
        self.celery.start()
        self.kubernetes.start()

    def submit(self, tries: list[QueuedTry]) -> None:
        pods = [work for work in tries if self.to_pods(work)]
        self.kubernetes.submit(pods)
        self.celery.submit([work for work in tries if work not in pods])

    def poll(self, timeout: float) -> int:
        return self.kubernetes.poll(timeout)  # the Celery side has nothing to do here

    def holds(self, ti_id: int) -> bool:
        return self.kubernetes.holds(ti_id) or self.celery.holds(ti_id)

    def free_slots(self) -> int:
        return self.celery.free_slots()  # parallelism over every try in flight, pods too

    def resend_queued_before(self, now: datetime) -> datetime | None:
        return self.celery.resend_queued_before(now)

    def stop(self, grace: float) -> None:
        self.kubernetes.stop(grace)
        self.celery.stop(grace)
