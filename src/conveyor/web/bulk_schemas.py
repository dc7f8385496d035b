"""The shapes of the actions on many task instances or runs at once (``web/api/bulk.py``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from conveyor.states import MarkStateName

Id = Annotated[str, Field(min_length=1, max_length=250, pattern=r"^[^\x00]+$")]
MAX_ITEMS = 500


class TaskInstanceRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dag_id: Id
    run_id: Id
    task_id: Id
    map_index: int | None = Field(
        default=None,
        ge=-1,
        le=2**31 - 1,
        description="one instance of a mapped task (0..n-1); absent: every instance of the task",
    )


class RunRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dag_id: Id
    run_id: Id


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = Field(
        default=False, description="only say what would change; nothing is written"
    )


class _Reach(_Action):
    """How far a clear or a mark of task instances reaches, as Airflow's options say."""

    task_instances: list[TaskInstanceRef] = Field(min_length=1, max_length=MAX_ITEMS)
    upstream: bool = Field(default=False, description="also the tasks upstream of these")
    downstream: bool = Field(default=False, description="also the tasks downstream of these")
    past: bool = Field(default=False, description="also these tasks in the DAG's earlier runs")
    future: bool = Field(default=False, description="also these tasks in the DAG's later runs")


class ClearTaskInstances(_Reach):
    only_failed: bool = Field(default=False, description="only failed and upstream_failed ones")
    only_running: bool = Field(default=False, description="only running ones")


class MarkTaskInstances(_Reach):
    state: MarkStateName


class ClearRuns(_Action):
    runs: list[RunRef] = Field(min_length=1, max_length=MAX_ITEMS)
    only_failed: bool = Field(default=False, description="only failed and upstream_failed ones")


class MarkRuns(_Action):
    runs: list[RunRef] = Field(min_length=1, max_length=MAX_ITEMS)
    state: MarkStateName


class InstanceChange(BaseModel):
    dag_id: str
    run_id: str
    task_id: str
    map_index: int = Field(description="instance of a mapped task: 0..n-1; else -1")
    before: str
    after: str


class RunStateChange(BaseModel):
    dag_id: str
    run_id: str
    before: str
    after: str


class BulkResult(BaseModel):
    dry_run: bool = Field(description="true: a preview; nothing was written")
    changed: list[InstanceChange] = Field(description="task instances whose state changes")
    stopped: list[InstanceChange] = Field(
        description="of the changed task instances, those queued or running: their try ends, "
        "and a running one's process is stopped"
    )
    runs: list[RunStateChange] = Field(description="every run the action looked at")
