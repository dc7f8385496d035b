"""``GET .../taskInstances/{task_id}/dependencies`` (and per map index): why a task
instance is not running, as Airflow's list of ``{name, reason}``.

The reasons are Conveyor's own explanation (``conveyor tasks why``, made by the scheduler's
planning code), each under the name Airflow gives that condition ("Trigger Rule", "Pool
Slots Available", "Dagrun Running", ...). An instance that runs or has finished waits on
nothing: its list is empty, as on Airflow.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from conveyor.lifecycle import NOT_YET_QUEUED, RUN_UNFINISHED
from conveyor.scheduler.explain import DAGRUN_RUNNING, Blocker, explain
from conveyor.store import runs
from conveyor.web.airflow_api.common import Reader
from conveyor.web.airflow_api.differences import differs
from conveyor.web.airflow_api.ti_paths import MappedInstance, QueriedInstance, TaskAt
from conveyor.web.deps import get_store

router = APIRouter(tags=["Task Instance"])

BASE = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"


class TaskDependencyResponse(BaseModel):
    name: str
    reason: str


class TaskDependencyCollectionResponse(BaseModel):
    dependencies: list[TaskDependencyResponse]


DIFFERENCE = differs(
    "also names what a queued, deferred or up-for-retry instance waits for; the reasons are "
    "Conveyor's words"
)


def _dependencies(request: Request, at: TaskAt) -> TaskDependencyCollectionResponse:
    with get_store(request).read() as conn:
        at.find(conn)  # 404 in Airflow's words
        run = runs.find_run(conn, at.dag_id, at.dag_run_id)
        story = explain(conn, run, at.task_id, at.map_index)
    blockers = list(story.blockers)
    if story.state in NOT_YET_QUEUED and story.run_state not in RUN_UNFINISHED:
        blockers.append(
            Blocker(
                DAGRUN_RUNNING,
                f"the run is {story.run_state.value}: its task instances are not scheduled "
                "until it is cleared",
            )
        )
    return TaskDependencyCollectionResponse(
        dependencies=[
            TaskDependencyResponse(name=b.name, reason=b.reason)
            for b in sorted(blockers, key=lambda b: b.name)
        ]
    )


@router.get(BASE + "/dependencies", openapi_extra=DIFFERENCE)
def get_task_instance_dependencies(
    request: Request, at: QueriedInstance, user: Reader
) -> TaskDependencyCollectionResponse:
    """What keeps the task instance from being queued, each under Airflow's name for it."""
    return _dependencies(request, at)


@router.get(BASE + "/{map_index:map_index}/dependencies", openapi_extra=DIFFERENCE)
def get_task_instance_dependencies_by_map_index(
    request: Request, at: MappedInstance, user: Reader
) -> TaskDependencyCollectionResponse:
    """As :func:`get_task_instance_dependencies`, for one instance of a mapped task."""
    return _dependencies(request, at)
