"""One BigQuery job of an operator, as Airflow's operators run it: the job id they build, and
what a job of that id that exists already means.

The id is the one given, or ``airflow_<dag>_<task>_<logical date>``, then a suffix: random
with ``force_rerun``, else the configuration's hash, so a retry of the same task and run asks
for the same job. BigQuery refuses an id it has seen (409); the job is then reattached to
when its state is in ``reattach_states``, else the task fails saying how to choose.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any, Protocol

from conveyor.exceptions import TaskError
from conveyor.providers.google.bigquery import BigQueryHook, api_errors


def job_id_for(
    configuration: dict[str, Any],
    task_id: str,
    context: dict[str, Any],
    job_id: str | None,
    force_rerun: bool,
) -> str:
    """Airflow's id for the job of ``task_id`` in the run of ``context``."""
    if force_rerun:
        base = str(uuid.uuid4())
    else:
        base = json.dumps(configuration, sort_keys=True, default=str)
    suffix = hashlib.md5(base.encode(), usedforsecurity=False).hexdigest()
    if job_id:
        return f"{job_id}_{suffix}"
    dag_id = getattr(context.get("ti"), "dag_id", None) or "dag"
    when = context.get("logical_date") or context.get("run_id") or ""
    stamp = when.isoformat() if hasattr(when, "isoformat") else str(when)
    return re.sub(r"[:\-+.]", "_", f"airflow_{dag_id}_{task_id}_{stamp}_{suffix}")


class JobOptions(Protocol):
    """What an operator that runs one BigQuery job carries (Airflow's keywords)."""

    @property
    def task_id(self) -> str: ...
    @property
    def job_id(self) -> str | None: ...
    @property
    def force_rerun(self) -> bool: ...
    @property
    def location(self) -> str | None: ...
    @property
    def reattach_states(self) -> set[str] | None: ...
    @property
    def result_timeout(self) -> float | None: ...


def run_operator_job(
    operator: JobOptions,
    hook: BigQueryHook,
    configuration: dict[str, Any],
    context: dict[str, Any],
    *,
    project_id: str | None,
) -> Any:
    """:func:`run_job` with the id :func:`job_id_for` gives ``operator`` in the run of
    ``context``, and the operator's location, reattach states and timeout."""
    return run_job(
        hook,
        configuration,
        job_id_for(configuration, operator.task_id, context, operator.job_id, operator.force_rerun),
        project_id=project_id,
        location=operator.location,
        reattach_states=operator.reattach_states,
        timeout=operator.result_timeout,
    )


def run_job(
    hook: BigQueryHook,
    configuration: dict[str, Any],
    job_id: str,
    *,
    project_id: str | None,
    location: str | None,
    reattach_states: set[str] | None,
    timeout: float | None,
) -> Any:
    """Run the job and wait for its end; reattach to an existing one as above."""
    try:
        return hook.insert_job(
            configuration=configuration,
            job_id=job_id,
            project_id=project_id,
            location=location,
            timeout=timeout,
        )
    except api_errors.Conflict:
        job = hook.get_job(job_id, project_id=project_id, location=location)
        if job.state not in (reattach_states or set()):
            raise TaskError(
                f"Job with id: {job_id} already exists and is in {job.state} state. If you "
                "want to force rerun it consider setting `force_rerun=True`.Or, if you want "
                f"to reattach in this scenario add {job.state} to `reattach_states`"
            ) from None
        job.result(timeout=timeout)
        return job
