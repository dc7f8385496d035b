"""The Kubernetes executor: each try runs in a pod of its own.

The scheduler's side makes the pods (``pod_spec``) and watches them through a launcher (a
cluster, or podman here); the pod runs the try as a Celery pool process would
(``worker.pod_try``): it moves the try to running, heartbeats it, and records its outcome,
XComs and log in the store. What this side does, once per scheduler loop:

- creates up to ``worker_pods_creation_batch_size`` pods of the tries handed to it; a pod the
  cluster (or podman) refuses fails its try with the reason;
- fails the try of a pod that will never start (a bad image: ``ErrImagePull`` ...), that
  stayed pending past ``worker_pods_pending_timeout`` (unschedulable: no node has the room or
  the labels it asks for; the pod is deleted) or that ended without recording its try
  (killed, OOM, deleted), with the pod's reason and the last lines of its log: retried per
  the task's policy;
- stops a try a person ended (or its run timed out) by deleting its pod (SIGTERM, the task's
  ``on_kill``, SIGKILL after ``kill_grace_seconds``);
- deletes finished pods per ``delete_worker_pods`` / ``delete_worker_pods_on_failure``;
- hands out the tries a finished try's fast path queued.

A scheduler that starts lists the pods carrying the executor's label and adopts them: their
tries are held (not sent again) and watched like its own, and a running pod's process keeps
heartbeating meanwhile, so a scheduler replaced mid-run neither loses nor repeats a try.
Stopping the scheduler leaves the pods running for the next one.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from conveyor import interrupts
from conveyor.config import Settings
from conveyor.engine.progress import QueuedTry, queued_tries
from conveyor.engine.tries import end_from_outside, worker_actor
from conveyor.executors.base import Executor
from conveyor.executors.kubernetes.launchers import (
    FAILED,
    PENDING,
    SUCCEEDED,
    PodLauncher,
    PodState,
    launcher_for,
)
from conveyor.executors.kubernetes.pod_spec import TI_LABEL, TRY_LABEL, TaskPodSettings, build_pod
from conveyor.states import IN_FLIGHT, ExitKind
from conveyor.stats import airflow as stats
from conveyor.store import runs, stops
from conveyor.store.engine import Store
from conveyor.worker.runner import queued_log_path

log = logging.getLogger(__name__)

#: Lines of a failed pod's log quoted in its try's failure.
TAIL_LINES = 20


def task_raw(store: Store, work: QueuedTry) -> dict[str, Any]:
    """The serialized task of a queued try (its executor, executor_config, resources)."""
    with store.read() as conn:
        run = runs.get_run(conn, work.run_pk)
        return runs.serialized_dag(conn, run.version_hash).tasks[work.task_id].raw


@dataclass
class _Pod:
    """A pod this executor made or adopted."""

    ti_id: int
    try_number: int
    name: str
    namespace: str
    what: str
    stopping: bool = False
    #: Seen listed at least once: a pod never listed yet is not "gone" (a slow API).
    seen: bool = False
    #: When this executor made or adopted it (monotonic): a pod still pending long after
    #: will not start.
    since: float = field(default_factory=time.monotonic)


class KubernetesExecutor(Executor):
    def __init__(
        self, settings: Settings, store: Store | None = None, launcher: PodLauncher | None = None
    ) -> None:
        self.settings = settings
        self._own_store = store is None
        self.store = store or Store(settings.db_url)
        self.launcher = launcher or launcher_for(settings)
        self._backlog: deque[QueuedTry] = deque()
        self._pods: dict[int, _Pod] = {}

    # -- the contract ----------------------------------------------------------------------

    def start(self) -> None:
        started = time.perf_counter()
        self._adopt(self.launcher.pods())
        if stats.on():
            stats.pods_adopted(time.perf_counter() - started)

    def submit(self, tries: list[QueuedTry]) -> None:
        held = {work.ti_id for work in self._backlog}
        self._backlog.extend(
            work for work in tries if work.ti_id not in held and work.ti_id not in self._pods
        )

    def holds(self, ti_id: int) -> bool:
        return ti_id in self._pods or any(work.ti_id == ti_id for work in self._backlog)

    def free_slots(self) -> int:
        return max(self.settings.parallelism - len(self._pods) - len(self._backlog), 0)

    def idle(self) -> bool:
        return not self._pods and not self._backlog

    def poll(self, timeout: float) -> int:
        until = time.monotonic() + timeout
        self._create_pods()
        ended = self._watch(self.launcher.pods())
        self._check_stops()
        if not ended:
            interrupts.sleep(max(until - time.monotonic(), 0))
        return ended

    def stop(self, grace: float) -> None:
        """The pods keep running: the next scheduler adopts them."""
        self._backlog.clear()
        close = getattr(self.launcher, "close", None)
        if close is not None:
            close()
        if self._own_store:
            self.store.dispose()

    # -- the pods --------------------------------------------------------------------------

    def _adopt(self, listed: list[PodState]) -> None:
        for state in listed:
            try:
                ti_id, try_number = int(state.labels[TI_LABEL]), int(state.labels[TRY_LABEL])
            except (KeyError, ValueError):
                continue  # not a try's pod
            what = f"{state.labels.get('dag_id')}.{state.labels.get('task_id')}"
            self._pods[ti_id] = _Pod(
                ti_id, try_number, state.name, state.namespace, what, seen=True
            )
            log.info("adopted pod %s of try %s of %s", state.name, try_number, what)

    def _create_pods(self) -> None:
        for _ in range(self.settings.kubernetes_worker_pods_creation_batch_size):
            if not self._backlog:
                return
            work = self._backlog.popleft()
            try:
                log_path = queued_log_path(self.settings, self.store, work)
                pod = build_pod(self.settings, work, self._task_settings(work), log_path)
            except Exception as exc:  # a pod_override or template the client cannot read
                self._fail(work.ti_id, work.try_number, f"the try's pod could not be built: {exc}")
                continue
            refused = self.launcher.create(pod)
            if refused is not None:
                self._fail(work.ti_id, work.try_number, f"the try's pod could not start: {refused}")
                continue
            what = f"{work.dag_id}.{work.task_id}"
            self._pods[work.ti_id] = _Pod(
                work.ti_id, work.try_number, pod.metadata.name, pod.metadata.namespace, what
            )

    def _task_settings(self, work: QueuedTry) -> TaskPodSettings:
        return TaskPodSettings.of(task_raw(self.store, work))

    def _watch(self, listed: list[PodState]) -> int:
        by_name = {state.name: state for state in listed}
        ended = 0
        for pod in list(self._pods.values()):
            state = by_name.get(pod.name)
            if state is None:
                if pod.seen or pod.stopping:
                    self._ended(pod, None)
                    ended += 1
                continue
            pod.seen = True
            if state.ended:
                self._ended(pod, state)
                ended += 1
            elif state.phase == PENDING and self._pending_too_long(pod):
                self._never_started(pod, state)
                ended += 1
        return ended

    def _pending_too_long(self, pod: _Pod) -> bool:
        waited = time.monotonic() - pod.since
        return not pod.stopping and waited > self.settings.kubernetes_worker_pods_pending_timeout

    def _never_started(self, pod: _Pod, state: PodState) -> None:
        """A pod pending past the timeout: deleted, its try failed with why it waits."""
        del self._pods[pod.ti_id]
        self.launcher.delete(pod.name, pod.namespace, self.settings.kill_grace_seconds)
        timeout = self.settings.kubernetes_worker_pods_pending_timeout
        self._fail(
            pod.ti_id,
            pod.try_number,
            f"the try's pod {pod.name} did not start within {timeout:g}s "
            f"(worker_pods_pending_timeout): {state.reason or 'pending, no reason given'}",
        )
        with self.store.read() as conn:
            run_pk = runs.try_owner(conn, pod.ti_id).run_pk
            self.submit(queued_tries(conn, run_pk=run_pk))

    def _ended(self, pod: _Pod, state: PodState | None) -> None:
        """The pod ended, or is gone, or will never start: fail its try (unless the pod
        succeeded, or the try ended already), hand out what its end queued, delete the pod
        per the settings."""
        del self._pods[pod.ti_id]
        if pod.stopping:
            if state is not None:
                self.launcher.delete(pod.name, pod.namespace, self.settings.kill_grace_seconds)
            with self.store.write() as conn:
                stops.process_gone(conn, pod.ti_id, pod.try_number)
            return
        if state is None:
            self._fail(pod.ti_id, pod.try_number, f"the try's pod {pod.name} is gone (deleted)")
        elif state.phase == FAILED:
            tail = self.launcher.logs(pod.name, pod.namespace, tail=TAIL_LINES).rstrip()
            error = f"the try's pod {pod.name} failed: {state.reason or 'no reason given'}" + (
                f"; last lines of its log:\n{tail}" if tail else ""
            )
            self._fail(pod.ti_id, pod.try_number, error)
        # A pod that succeeded recorded its try, or found it was not its own to run (another
        # scheduler's pod won it): nothing to fail either way.
        if state is not None and self._deletes(state):
            self.launcher.delete(pod.name, pod.namespace, self.settings.kill_grace_seconds)
        with self.store.read() as conn:
            run_pk = runs.try_owner(conn, pod.ti_id).run_pk
            self.submit(queued_tries(conn, run_pk=run_pk))

    def _deletes(self, state: PodState) -> bool:
        if not self.settings.kubernetes_delete_worker_pods:
            return False
        return state.phase == SUCCEEDED or self.settings.kubernetes_delete_worker_pods_on_failure

    def _fail(self, ti_id: int, try_number: int, error: str) -> None:
        """Fail the try unless it ended already (a pod that recorded its try and then died
        changes nothing): retried per the task's policy."""
        result = end_from_outside(
            self.store,
            ti_id,
            try_number,
            ExitKind.CRASH,
            error,
            worker_actor(),
            parallelism=self.settings.parallelism,
            expected=sorted(IN_FLIGHT),
        )
        if result.state is not None:
            log.info("try %s of task instance %s: %s", try_number, ti_id, error)
        self.submit(result.queued)

    def _check_stops(self) -> None:
        """Delete the pods of the tries the store asks to stop."""
        held = [pod.ti_id for pod in self._pods.values() if not pod.stopping]
        if not held:
            return
        with self.store.read() as conn:
            asked = stops.asked(conn, held)
        grace = self.settings.kill_grace_seconds
        for stop in asked:
            pod = self._pods.get(stop.ti_id)
            if pod is None or pod.try_number != stop.try_number:
                continue
            pod.stopping = True
            log.info("try %s of %s was ended from outside; deleting pod %s", pod.try_number,
                     pod.what, pod.name)  # fmt: skip
            self.launcher.delete(pod.name, pod.namespace, grace)
            how = (
                f"deleting its pod {pod.name}: SIGTERM (the task's on_kill runs), SIGKILL "
                f"after {grace:g}s"
            )
            with self.store.write() as conn:
                stops.sent(conn, stop, worker_actor(), pid=None, grace=grace, how=how)
