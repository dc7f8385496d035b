"""Airflow 3.3's ``ResumableJobMixin``: an operator that submits one long job to an outside
system and polls it reconnects on its next try instead of submitting the job again.

The job's id is kept in the try's ``task_state_store`` (under ``external_id_key``) right
after the submit. A later try asks the outside system about that id: still running, it
polls that job again (the value is what ``poll_until_complete`` gives, as in Airflow);
succeeded, it returns ``get_job_result`` without polling; failed, it submits a new job. With
``durable=False`` every try submits. Each decision counts Airflow's ``resumable_job.*``
metric with the operator's name as a tag.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from conveyor.airflow_compat.task_helpers import Stats

log = logging.getLogger("airflow.task")


class ResumableJobMixin(ABC):
    """Mix into an operator and call ``execute_resumable(context)`` from its ``execute``."""

    #: Where the job's id is kept between tries; renaming it loses the running jobs' ids.
    external_id_key: str = "remote_job_id"

    def __init__(self, *args: Any, durable: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.durable = durable

    def execute_resumable(self, context: dict[str, Any]) -> Any:
        if not self.durable:
            return self._submit_and_wait(context, None)
        tags = {"operator": type(self).__name__}
        store = context.get("task_state_store")
        if store is None:
            log.warning("task_state_store is not in the context: this try cannot resume a job")
            return self._submit_and_wait(context, None)
        external_id = store.get(self.external_id_key)
        if not external_id:
            Stats.incr("resumable_job.fresh_submit", tags=tags)
            return self._submit_and_wait(context, store)
        Stats.incr("resumable_job.reconnect_attempt", tags=tags)
        status = self.get_job_status(external_id, context)
        if self.is_job_active(status):
            Stats.incr("resumable_job.reconnect_success", tags=tags)
            log.info(
                "Reconnecting to job %s (%s), submitted by an earlier try", external_id, status
            )
            return self.poll_until_complete(external_id, context)
        if self.is_job_succeeded(status):
            Stats.incr("resumable_job.already_succeeded", tags=tags)
            log.info("Job %s already succeeded: not submitted again", external_id)
            return self.get_job_result(external_id, context)
        Stats.incr("resumable_job.terminal_resubmit", tags=tags)
        log.warning("Job %s of an earlier try ended %s: submitting a new one", external_id, status)
        return self._submit_and_wait(context, store)

    def _submit_and_wait(self, context: dict[str, Any], store: Any) -> Any:
        external_id = self.submit_job(context)
        if store is not None and external_id is not None:
            store.set(self.external_id_key, external_id)
        self.poll_until_complete(external_id, context)
        return self.get_job_result(external_id, context)

    @abstractmethod
    def submit_job(self, context: dict[str, Any]) -> Any:
        """Submit the job; its id in the outside system (None: nothing to keep)."""

    @abstractmethod
    def get_job_status(self, external_id: Any, context: dict[str, Any]) -> str:
        """The outside system's status of the job."""

    @abstractmethod
    def is_job_active(self, status: str) -> bool:
        """Whether the job still runs and can be polled again."""

    @abstractmethod
    def is_job_succeeded(self, status: str) -> bool:
        """Whether the job ended well."""

    @abstractmethod
    def poll_until_complete(self, external_id: Any, context: dict[str, Any]) -> Any:
        """Wait until the job ends; raise when it failed."""

    @abstractmethod
    def get_job_result(self, external_id: Any, context: dict[str, Any]) -> Any:
        """What the try returns once the job succeeded."""
