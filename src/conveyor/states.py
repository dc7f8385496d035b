"""The states a task instance and a DAG run move through, and the named sets the engine uses.

How each looks and every move between them are data in ``lifecycle.py``; this module only
names them and their sets.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class TaskState(StrEnum):
    """Where one task instance of one DAG run stands."""

    NONE = "none"  # created with its run; its upstream has not let it go yet
    SCHEDULED = "scheduled"  # ready to run; waits for a slot (parallelism, max_active_tasks)
    QUEUED = "queued"  # handed to an executor; no process has started it yet
    RUNNING = "running"  # exactly one process won queued -> running for this try
    SUCCESS = "success"  # the try returned
    FAILED = "failed"  # the try failed with no retries left, or was marked failed
    UP_FOR_RETRY = "up_for_retry"  # the try failed; the next try waits for retry_at
    UP_FOR_RESCHEDULE = "up_for_reschedule"  # a sensor will poke again at retry_at; no slot held
    DEFERRED = "deferred"  # waits for its trigger's event in a triggerer; no slot held
    AWAITING_INPUT = "awaiting_input"  # waits for a person's answer (human in the loop); no slot
    SKIPPED = "skipped"  # not run: a branch went elsewhere, a trigger rule said so, or Skip
    UPSTREAM_FAILED = "upstream_failed"  # not run because an upstream task failed


class ExitKind(StrEnum):
    """How a try ended. Stored in ``task_try.exit_kind`` and shown by the API and the UI, so
    the values never change."""

    RETURN = "return"  # the task returned
    EXCEPTION = "exception"  # the task raised (Fail included)
    TIMEOUT = "timeout"  # it ran past its execution_timeout
    SIGNAL = "signal"  # its process was killed by a signal, or its worker handed it back
    CRASH = "crash"  # its process exited without reporting
    HEARTBEAT = "heartbeat"  # its process stopped sending heartbeats (a zombie)
    SKIP = "skip"  # the task raised Skip
    RESCHEDULE = "reschedule"  # a sensor in reschedule mode will poke again
    DEFERRED = "deferred"  # the task deferred to a trigger; a later try resumes it
    AWAITING_INPUT = "awaiting_input"  # the task asked a person; a later try resumes it
    BOOKKEEPING = "bookkeeping"  # the engine could not prepare the try (its log, its run id)
    NOT_STARTED = "not_started"  # the try could not start
    STOPPED = "stopped"  # a person (or the run's timeout) ended it; its process is stopped


class RunState(StrEnum):
    """Where one DAG run stands."""

    QUEUED = "queued"  # created; waits for room under max_active_runs to start
    RUNNING = "running"  # its tasks are being scheduled
    SUCCESS = "success"  # every leaf task succeeded or was skipped
    FAILED = "failed"  # a leaf task failed, or nothing can move any more


#: A task instance in one of these states will not change again unless a person clears it.
FINISHED: frozenset[TaskState] = frozenset(
    {TaskState.SUCCESS, TaskState.FAILED, TaskState.SKIPPED, TaskState.UPSTREAM_FAILED}
)
#: A process owns, or is about to own, the task instance; these count towards
#: max_active_tasks and parallelism.
IN_FLIGHT: frozenset[TaskState] = frozenset({TaskState.QUEUED, TaskState.RUNNING})
#: Upstream states that count as "failed" for trigger rules.
FAILED_LIKE: frozenset[TaskState] = frozenset({TaskState.FAILED, TaskState.UPSTREAM_FAILED})

RUN_FINISHED: frozenset[RunState] = frozenset({RunState.SUCCESS, RunState.FAILED})
#: A run in these counts against its DAG's max_active_runs (a backfill's against its own):
#: no scheduled run is made while they fill it, and one that leaves them frees room.
RUN_ACTIVE: frozenset[RunState] = frozenset({RunState.QUEUED, RunState.RUNNING})

# Where a type must spell the names out (a request's body or query, Airflow's API), these
# aliases do, once; tests/unit/test_lifecycle.py holds each to the enums and sets above.
#: Every run state, by name.
RunStateName = Literal["queued", "running", "success", "failed"]
#: What a person marks a task instance or a run with (``MARK_TARGETS``, ``RUN_FINISHED``).
MarkStateName = Literal["success", "failed"]
#: What a person sets a run to: a mark, or ``queued`` (its tasks cleared), as Airflow's
#: ``DAGRunPatchStates``.
RunPatchStateName = Literal["queued", "success", "failed"]
