"""OpenLineage run events of DAG runs and task instances, shaped as Airflow's provider
shapes them.

- A DAG run is the job ``<dag_id>`` (job type ``DAG``); a task instance's try is the job
  ``<dag_id>.<task_id>`` (``TASK``), both in the configured namespace, integration
  ``AIRFLOW``, processing type ``BATCH``.
- Run ids are Airflow's: UUIDv7 made from the run's logical date and, for a DAG run,
  ``<namespace>.<dag_id>.<clear_number>``, for a try
  ``<namespace>.<dag_id>.<task_id>.<try_number>.<map_index>`` (the same inputs give the same
  id, so a consumer can tie events together without asking). Conveyor counts no clears: the
  clear number is always 0.
- A try's run names its DAG run as its ``parent`` (and as the ``root``, or the root a run's
  conf names under ``openlineage``, as Airflow's).
- START when a try starts, COMPLETE when it succeeds or skips itself, FAIL when it fails (a
  retry too), with ``errorMessage``; a DAG run's START, COMPLETE and FAIL likewise.
- A task instance a person marks: COMPLETE (success) or FAIL (failed, Airflow's words as its
  ``errorMessage``) of its try's run id, sent from where it was marked, with the parent, the
  nominal time and the engine only (:func:`marked_task_event`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    documentation_job,
    error_message_run,
    job_type_job,
    nominal_time_run,
    ownership_job,
    parent_run,
    processing_engine_run,
    tags_job,
)
from openlineage.client.uuid import generate_static_uuid

from conveyor import __version__
from conveyor.clock import utcnow
from conveyor.lineage import describe
from conveyor.lineage.facets import (
    AirflowDagRunFacet,
    AirflowJobFacet,
    AirflowMappedTaskRunFacet,
    AirflowRunFacet,
    AirflowStateRunFacet,
)
from conveyor.providers.openlineage.operator_lineage import OperatorLineage

#: Who made the events (the spec's ``producer``: a URI).
PRODUCER = f"urn:conveyor:{__version__}"


def dag_run_id(namespace: str, dag_id: str, logical_date: datetime, clear_number: int = 0) -> str:
    data = f"{namespace}.{dag_id}.{clear_number}".encode()
    return str(generate_static_uuid(instant=logical_date, data=data))


def task_run_id(
    namespace: str, dag_id: str, task_id: str, try_number: int, map_index: int, logical: datetime
) -> str:
    data = f"{namespace}.{dag_id}.{task_id}.{try_number}.{map_index}".encode()
    return str(generate_static_uuid(instant=logical, data=data))


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _nominal(dag_run: Any) -> dict[str, Any]:
    start = _iso(getattr(dag_run, "data_interval_start", None))
    if start is None:
        return {}
    end = _iso(getattr(dag_run, "data_interval_end", None))
    return {"nominalTime": nominal_time_run.NominalTimeRunFacet(start, end)}


def _nominal_of(dag_run: dict[str, Any]) -> dict[str, Any]:
    """:func:`_nominal` of a run's fields as ``describe.dag_run_info`` read them."""
    start = dag_run.get("data_interval_start")
    if not isinstance(start, str):
        return {}
    end = dag_run.get("data_interval_end")
    end = end if isinstance(end, str) else None
    return {"nominalTime": nominal_time_run.NominalTimeRunFacet(start, end)}


def _engine() -> dict[str, Any]:
    return {"processing_engine": _engine_facet()}


@functools.cache
def _engine_facet() -> Any:
    """Made once a process: a facet's checks parse its URLs, and every event sends it."""
    return processing_engine_run.ProcessingEngineRunFacet(
        version=__version__, name="Conveyor", openlineageAdapterVersion=__version__
    )


@functools.cache
def _job_type(job_type: str) -> Any:
    """Made once a process for each type (``TASK``, ``DAG``), as :func:`_engine_facet`."""
    return job_type_job.JobTypeJobFacet(
        jobType=job_type, integration="AIRFLOW", processingType="BATCH"
    )


def _job(
    namespace: str,
    name: str,
    job_type: str,
    *,
    owners: list[str] | None = None,
    tags: list[str] | None = None,
    doc: str | None = None,
    doc_type: str | None = None,
    facets: dict[str, Any] | None = None,
) -> Job:
    found: dict[str, Any] = dict(facets or {})
    if doc:
        found["documentation"] = documentation_job.DocumentationJobFacet(
            description=doc, contentType=doc_type
        )
    if owners:
        found["ownership"] = ownership_job.OwnershipJobFacet(
            owners=[ownership_job.Owner(name=o) for o in sorted(owners)]
        )
    if tags:
        found["tags"] = tags_job.TagsJobFacet(
            tags=[
                tags_job.TagsJobFacetFields(key=t, value=t, source="AIRFLOW") for t in sorted(tags)
            ]
        )
    found["jobType"] = _job_type(job_type)
    return Job(namespace=namespace, name=name, facets=found)


def _owners(task: Any, dag: Any) -> list[str] | None:
    """The task's owners, or its DAG's when the task has Airflow's default owner."""
    owner = getattr(task, "owner", None)
    if not owner or owner == "airflow":
        owner = describe.dag_owner(dag)
    return [o.strip() for o in owner.split(",") if o.strip()] if owner else None


def _documentation(task: Any, dag: Any) -> tuple[str | None, str | None]:
    for obj, fields in (
        (task, ("doc_md", "doc", "doc_rst", "doc_yaml", "doc_json")),
        (dag, ("doc_md", "description")),
    ):
        for field in fields:
            value = getattr(obj, field, None) if obj is not None else None
            if isinstance(value, str) and value:
                kind = {"doc_md": "text/markdown", "doc_rst": "text/x-rst"}.get(field, "text/plain")
                return value, kind
    return None, None


def _parent(namespace: str, parent_run_id: str, dag_id: str, conf: Any) -> dict[str, Any]:
    """The try's DAG run as its parent; the root is the run's conf's ``openlineage`` root
    (or parent) when all of it is given, else that same DAG run."""
    root_run, root_namespace, root_name = parent_run_id, namespace, dag_id
    given = conf.get("openlineage") if isinstance(conf, dict) else None
    if isinstance(given, dict):
        for prefix in ("root_parent", "parent"):
            keys = (f"{prefix}_run_id", f"{prefix}_job_namespace", f"{prefix}_job_name")
            if all(isinstance(given.get(k), str) and given.get(k) for k in keys):
                root_run, root_namespace, root_name = (given[k] for k in keys)
                break
    return {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent_run_id),
            job=parent_run.Job(namespace=namespace, name=dag_id),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=root_run),
                job=parent_run.RootJob(namespace=root_namespace, name=root_name),
            ),
        )
    }


def _dag_parent(conf: Any) -> dict[str, Any]:
    """A DAG run whose conf names its parent under ``openlineage`` (a run another system
    triggered): that parent, as Airflow sends it."""
    given = conf.get("openlineage") if isinstance(conf, dict) else None
    if not isinstance(given, dict):
        return {}
    keys = ("parent_run_id", "parent_job_namespace", "parent_job_name")
    if not all(isinstance(given.get(k), str) and given.get(k) for k in keys):
        return {}
    run_id, namespace, name = (given[k] for k in keys)
    root = ("root_parent_run_id", "root_parent_job_namespace", "root_parent_job_name")
    if all(isinstance(given.get(k), str) and given.get(k) for k in root):
        root_run, root_namespace, root_name = (given[k] for k in root)
    else:
        root_run, root_namespace, root_name = run_id, namespace, name
    return {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=run_id),
            job=parent_run.Job(namespace=namespace, name=name),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=root_run),
                job=parent_run.RootJob(namespace=root_namespace, name=root_name),
            ),
        )
    }


@dataclass(frozen=True)
class TryMoment:
    """What a try's event says of the moment its hook was called, read then (the task
    instance and its run move on after it); the event is built from it later, off the hop
    (:func:`task_event_of`). ``task`` and ``dag`` are kept for what does not change: the
    owners, tags, documentation and the DAG's own fields."""

    state: RunState
    dag_id: str
    task_id: str
    try_number: int
    map_index: int
    logical: datetime
    conf: Any
    dag_run: dict[str, Any]
    task_instance: dict[str, Any]
    task_fields: dict[str, Any]
    event_time: datetime
    error: BaseException | str | None
    task: Any
    dag: Any


def task_moment(
    state: RunState,
    ti: Any,
    *,
    error: BaseException | str | None = None,
    event_time: datetime | None = None,
) -> TryMoment:
    """Read what the event of ``ti`` (the try's task instance: its task, DAG and run) says
    now; its ``try_number`` is the try Airflow shows (pokes and resumptions keep it), so
    every dispatch of one try has the same run id."""
    task = ti.task
    dag_run = ti.dag_run
    when = event_time or (getattr(ti, "start_date", None) if state is RunState.START else None)
    return TryMoment(
        state=state,
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        try_number=ti.try_number,
        map_index=ti.map_index,
        logical=dag_run.logical_date,
        conf=getattr(dag_run, "conf", None),
        dag_run=describe.dag_run_info(dag_run),
        task_instance=describe.task_instance_info(ti),
        task_fields=describe.task_info(task),
        event_time=when or utcnow(),
        error=error if state is RunState.FAIL else None,
        task=task,
        dag=getattr(task, "dag", None),
    )


def task_event(
    state: RunState,
    namespace: str,
    ti: Any,
    lineage: OperatorLineage,
    *,
    error: BaseException | str | None = None,
    event_time: datetime | None = None,
) -> RunEvent:
    """The event of a try, built at once (see :func:`task_moment`)."""
    moment = task_moment(state, ti, error=error, event_time=event_time)
    return task_event_of(moment, namespace, lineage)


def task_event_of(moment: TryMoment, namespace: str, lineage: OperatorLineage) -> RunEvent:
    """The event of the try ``moment`` read, with the operator's ``lineage``."""
    task, dag = moment.task, moment.dag
    run_id = task_run_id(
        namespace,
        moment.dag_id,
        moment.task_id,
        moment.try_number,
        moment.map_index,
        moment.logical,
    )
    parent_id = dag_run_id(namespace, moment.dag_id, moment.logical)
    facets: dict[str, Any] = {
        **lineage.run_facets,
        **_parent(namespace, parent_id, moment.dag_id, moment.conf),
        "airflow": AirflowRunFacet(
            dag=describe.dag_info(dag, moment.dag_id),
            dagRun=moment.dag_run,
            task=moment.task_fields,
            taskInstance=moment.task_instance,
            taskUuid=run_id,
        ),
    }
    if moment.map_index != -1:
        facets["airflow_mappedTask"] = AirflowMappedTaskRunFacet(
            mapIndex=moment.map_index, operatorClass=describe.operator_class_path(task)
        )
    if moment.error is not None:
        facets["errorMessage"] = _error(moment.error)
    facets.update(_nominal_of(moment.dag_run))
    facets.update(_engine())
    doc, doc_type = _documentation(task, dag)
    job = _job(
        namespace,
        f"{moment.dag_id}.{moment.task_id}",
        "TASK",
        owners=_owners(task, dag),
        tags=list(getattr(dag, "tags", None) or []),
        doc=doc,
        doc_type=doc_type,
        facets=lineage.job_facets,
    )
    return RunEvent(
        eventType=moment.state,
        eventTime=moment.event_time.isoformat(),
        run=Run(runId=run_id, facets=facets),
        job=job,
        inputs=list(lineage.inputs),
        outputs=list(lineage.outputs),
        producer=PRODUCER,
    )


def marked_task_event(
    state: RunState, namespace: str, ti: Any, *, error: BaseException | str | None = None
) -> RunEvent:
    """The event of a task instance a person marked, as Airflow's provider sends it from
    its API server: ``ti`` has its run but no task, so the job has no owners, tags or
    documentation, the run no ``airflow`` facet, and there are no inputs or outputs."""
    dag_run = ti.dag_run
    logical = dag_run.logical_date
    run_id = task_run_id(namespace, ti.dag_id, ti.task_id, ti.try_number, ti.map_index, logical)
    parent_id = dag_run_id(namespace, ti.dag_id, logical)
    facets: dict[str, Any] = _parent(
        namespace, parent_id, ti.dag_id, getattr(dag_run, "conf", None)
    )
    if state is RunState.FAIL and error is not None:
        facets["errorMessage"] = _error(error)
    facets.update(_nominal(dag_run))
    facets.update(_engine())
    return RunEvent(
        eventType=state,
        eventTime=utcnow().isoformat(),
        run=Run(runId=run_id, facets=facets),
        job=_job(namespace, f"{ti.dag_id}.{ti.task_id}", "TASK"),
        inputs=[],
        outputs=[],
        producer=PRODUCER,
    )


def _error(error: BaseException | str) -> Any:
    import traceback

    trace = None
    if isinstance(error, BaseException) and error.__traceback__ is not None:
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return error_message_run.ErrorMessageRunFacet(
        message=str(error), programmingLanguage="python", stackTrace=trace
    )


def dag_run_event(
    state: RunState,
    namespace: str,
    dag_run: Any,
    *,
    dag: Any | None = None,
    msg: str | None = None,
    task_states: list[tuple[str, str | None, float]] | None = None,
    event_time: datetime | None = None,
) -> RunEvent:
    """The event of a DAG run; ``dag`` (when the process has it) adds the DAG's owners,
    tags, documentation and tasks; ``task_states`` (task id, state, seconds) the
    ``airflowState`` facet of a finished run."""
    dag_id = dag_run.dag_id
    run_id = dag_run_id(namespace, dag_id, dag_run.logical_date)
    conf = getattr(dag_run, "conf", None)
    facets: dict[str, Any] = {
        **_dag_parent(conf),
        "airflowDagRun": AirflowDagRunFacet(
            dag=describe.dag_info(dag, dag_id), dagRun=describe.dag_run_info(dag_run)
        ),
    }
    if state is RunState.FAIL:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=msg or "failed", programmingLanguage="python"
        )
    if task_states is not None and state is not RunState.START:
        facets["airflowState"] = AirflowStateRunFacet(
            dagRunState=str(getattr(dag_run.state, "value", dag_run.state)),
            tasksState={task: s for task, s, _ in task_states},
            tasksDuration={task: seconds for task, _, seconds in task_states},
        )
    facets.update(_nominal(dag_run))
    facets.update(_engine())
    job_facets: dict[str, Any] = {}
    if dag is not None and state is RunState.START:
        tasks, groups = describe.dag_tasks(dag)
        job_facets["airflow"] = AirflowJobFacet(taskTree={}, taskGroups=groups, tasks=tasks)
    doc, doc_type = _documentation(None, dag)
    owner = getattr(dag, "owner", None) if dag is not None else None
    job = _job(
        namespace,
        dag_id,
        "DAG",
        owners=[o.strip() for o in owner.split(",") if o.strip()] if owner else None,
        tags=list(getattr(dag, "tags", None) or []),
        doc=doc,
        doc_type=doc_type,
        facets=job_facets,
    )
    moment = event_time
    if moment is None:
        moment = describe.attribute_or_none(
            dag_run, "start_date" if state is RunState.START else "end_date"
        )
    return RunEvent(
        eventType=state,
        eventTime=(moment or utcnow()).isoformat(),
        run=Run(runId=run_id, facets=facets),
        job=job,
        inputs=[],
        outputs=[],
        producer=PRODUCER,
    )
