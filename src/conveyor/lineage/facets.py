"""The run and job facets Airflow's provider adds of its own, under Airflow's names and with
its fields, so that a consumer reading Airflow's events reads Conveyor's: ``airflow``
(the task's run: its DAG, DAG run, task instance and task), ``airflowDagRun``,
``airflowState`` (a finished DAG run's task states), ``airflow_mappedTask`` and the DAG
job's ``airflow`` (its tasks and groups)."""

from __future__ import annotations

from typing import Any

import attr
from openlineage.client.facet_v2 import JobFacet, RunFacet


@attr.define
class AirflowRunFacet(RunFacet):
    """A try's run: its DAG, DAG run, task instance and task (camel case: the spec's)."""

    dag: dict[str, Any]
    dagRun: dict[str, Any]
    task: dict[str, Any]
    taskInstance: dict[str, Any]
    taskUuid: str


@attr.define
class AirflowDagRunFacet(RunFacet):
    dag: dict[str, Any]
    dagRun: dict[str, Any]


@attr.define
class AirflowStateRunFacet(RunFacet):
    dagRunState: str
    tasksState: dict[str, str | None]
    tasksDuration: dict[str, float]


@attr.define
class AirflowMappedTaskRunFacet(RunFacet):
    mapIndex: int
    operatorClass: str


@attr.define
class AirflowJobFacet(JobFacet):
    taskTree: dict[str, Any]
    taskGroups: dict[str, Any]
    tasks: dict[str, Any]
