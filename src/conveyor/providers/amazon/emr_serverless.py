"""Airflow's EMR Serverless pieces on boto3's ``emr-serverless`` client:
``EmrServerlessCreateApplicationOperator`` (its XCom is the application id; the application
is started after it is created), ``EmrServerlessStartJobOperator`` (starts the application
when it is not, then the job run; its XCom is the run's id; by default it waits until the run
succeeds), ``EmrServerlessDeleteApplicationOperator`` (stops, then deletes) and
``EmrServerlessJobSensor``.

Airflow waits with its own boto waiters, ``waiter_delay`` (60 s) apart up to
``waiter_max_attempts`` (25) times; Conveyor polls the same states at the same pace.
``deferrable=True`` waits in the worker instead of the triggerer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.providers.amazon._operator import (
    AwsBaseOperator,
    AwsBaseSensor,
    aws_template_fields,
    wait_for,
)
from conveyor.providers.amazon.base_aws import AwsBaseHook

JOB_SUCCESS_STATES = frozenset({"SUCCESS"})
JOB_FAILURE_STATES = frozenset({"FAILED", "CANCELLED"})
JOB_TERMINAL_STATES = JOB_SUCCESS_STATES | JOB_FAILURE_STATES
APPLICATION_FAILURE_STATES = ("TERMINATED",)


class EmrServerlessHook(AwsBaseHook):
    """``conn`` / ``get_conn()`` is boto3's ``emr-serverless`` client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "emr-serverless"
        super().__init__(*args, **kwargs)

    def application_state(self, application_id: str) -> str:
        found = self.get_conn().get_application(applicationId=application_id)
        return str(found["application"]["state"])

    def job_run_state(self, application_id: str, job_run_id: str) -> str:
        found = self.get_conn().get_job_run(applicationId=application_id, jobRunId=job_run_id)
        return str(found["jobRun"]["state"])


def _pace(task_id: str, kwargs: dict[str, Any]) -> tuple[int, int]:
    """``waiter_delay`` and ``waiter_max_attempts`` from the keywords and their older names."""
    delay = kwargs.pop("waiter_delay", None)
    interval = kwargs.pop("waiter_check_interval_seconds", None)
    delay = int(delay if delay is not None else interval if interval is not None else 60)
    attempts = kwargs.pop("waiter_max_attempts", None)
    countdown = kwargs.pop("waiter_countdown", None)
    if attempts is None:
        attempts = countdown // delay if countdown is not None else 25
    if delay < 0 or int(attempts) < 1:
        raise TaskError(f"task {task_id!r}: waiter_delay and waiter_max_attempts must be positive")
    return delay, int(attempts)


class _EmrServerlessOperator(AwsBaseOperator[EmrServerlessHook]):
    aws_hook_class = EmrServerlessHook
    ui_color = "#f9c915"

    def __init__(self, task_id: str, *, wait_for_completion: bool = True, **kwargs: Any) -> None:
        self.waiter_delay, self.waiter_max_attempts = _pace(task_id, kwargs)
        super().__init__(task_id, **kwargs)
        self.wait_for_completion = wait_for_completion

    def _wait_application(self, application_id: str, done: tuple[str, ...], what: str) -> str:
        return wait_for(
            f"Serverless Application {application_id} ({what})",
            lambda: self.hook.application_state(application_id),
            done,
            tuple(s for s in APPLICATION_FAILURE_STATES if s not in done),
            self.waiter_delay,
            self.waiter_max_attempts,
        )


class EmrServerlessCreateApplicationOperator(_EmrServerlessOperator):
    """Create an application (``release_label``, ``job_type``, ``config``), wait until it is
    created, start it and, with ``wait_for_completion``, wait until it has started."""

    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields(
        "release_label", "job_type", "config"
    )

    def __init__(
        self,
        task_id: str,
        *,
        release_label: str,
        job_type: str,
        client_request_token: str = "",
        config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.release_label = release_label
        self.job_type = job_type
        self.client_request_token = client_request_token or str(uuid.uuid4())
        self.config = config or {}

    def execute(self, context: dict[str, Any]) -> str:
        answer = self.hook.get_conn().create_application(
            clientToken=self.client_request_token,
            releaseLabel=self.release_label,
            type=self.job_type,
            **self.config,
        )
        application_id = str(answer["applicationId"])
        print(f"EMR serverless application created: {application_id}", flush=True)
        self._wait_application(application_id, ("CREATED", "STARTED"), "created")
        self.hook.get_conn().start_application(applicationId=application_id)
        if self.wait_for_completion or self.deferrable:
            self._wait_application(application_id, ("STARTED",), "started")
        return application_id


class EmrServerlessStartJobOperator(_EmrServerlessOperator):
    """Start the application if it is not started, then a job run of ``job_driver`` as
    ``execution_role_arn``; with ``wait_for_completion`` (the default) wait until the run
    succeeds (FAILED or CANCELLED fails the task). Returns the run's id."""

    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields(
        "application_id",
        "config",
        "execution_role_arn",
        "job_driver",
        "configuration_overrides",
        "name",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "config": "json",
        "configuration_overrides": "json",
    }

    def __init__(
        self,
        task_id: str,
        *,
        application_id: str,
        execution_role_arn: str,
        job_driver: dict[str, Any],
        configuration_overrides: dict[str, Any] | None = None,
        client_request_token: str = "",
        config: dict[str, Any] | None = None,
        name: str | None = None,
        enable_application_ui_links: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.application_id = application_id
        self.execution_role_arn = execution_role_arn
        self.job_driver = job_driver
        self.configuration_overrides = configuration_overrides
        self.client_request_token = client_request_token or str(uuid.uuid4())
        self.config = config or {}
        self.name = name
        # Links in Airflow's UI only; they change nothing that runs.
        self.enable_application_ui_links = enable_application_ui_links
        self.job_id: str | None = None

    def execute(self, context: dict[str, Any]) -> str:
        conn = self.hook.get_conn()
        state = self.hook.application_state(self.application_id)
        if state in APPLICATION_FAILURE_STATES:
            # AWS refuses to start a deleted application (moto would start it again).
            raise TaskError(f"task {self.task_id!r}: application {self.application_id} is {state}")
        if state != "STARTED":
            print(f"Starting application {self.application_id} ({state})", flush=True)
            conn.start_application(applicationId=self.application_id)
            self._wait_application(self.application_id, ("STARTED",), "started")
        config = dict(self.config)
        self.name = self.name or config.pop("name", f"emr_serverless_job_airflow_{uuid.uuid4()}")
        args: dict[str, Any] = {
            "clientToken": self.client_request_token,
            "applicationId": self.application_id,
            "executionRoleArn": self.execution_role_arn,
            "jobDriver": self.job_driver,
            "name": self.name,
            **config,
        }
        if self.configuration_overrides is not None:
            args["configurationOverrides"] = self.configuration_overrides
        self.job_id = str(conn.start_job_run(**args)["jobRunId"])
        print(f"EMR serverless job started: {self.job_id}", flush=True)
        if self.wait_for_completion or self.deferrable:
            job_id = self.job_id
            wait_for(
                f"EMR serverless job {job_id}",
                lambda: self.hook.job_run_state(self.application_id, job_id),
                tuple(JOB_SUCCESS_STATES),
                tuple(sorted(JOB_FAILURE_STATES)),
                self.waiter_delay,
                self.waiter_max_attempts,
            )
        return self.job_id


class EmrServerlessDeleteApplicationOperator(_EmrServerlessOperator):
    """Stop the application (``force_stop`` cancels its running jobs first), delete it and,
    with ``wait_for_completion``, wait until it is terminated."""

    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields("application_id")

    def __init__(
        self, task_id: str, *, application_id: str, force_stop: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.application_id = application_id
        self.force_stop = force_stop

    def execute(self, context: dict[str, Any]) -> None:
        conn = self.hook.get_conn()
        if self.force_stop:
            runs = conn.list_job_runs(
                applicationId=self.application_id,
                states=["PENDING", "SUBMITTED", "SCHEDULED", "RUNNING", "QUEUED"],
            )["jobRuns"]
            for run in runs:
                conn.cancel_job_run(applicationId=self.application_id, jobRunId=run["id"])
        if self.hook.application_state(self.application_id) not in ("CREATED", "STOPPED"):
            conn.stop_application(applicationId=self.application_id)
            self._wait_application(self.application_id, ("CREATED", "STOPPED"), "stopped")
        conn.delete_application(applicationId=self.application_id)
        if self.wait_for_completion or self.deferrable:
            self._wait_application(self.application_id, ("TERMINATED",), "deleted")
        print("EMR serverless application deleted", flush=True)


class EmrServerlessJobSensor(AwsBaseSensor[EmrServerlessHook]):
    """Wait until the job run is in ``target_states`` (SUCCESS); FAILED or CANCELLED fails."""

    aws_hook_class = EmrServerlessHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields("application_id", "job_run_id")

    def __init__(
        self,
        task_id: str,
        *,
        application_id: str,
        job_run_id: str,
        target_states: Iterable[str] = JOB_SUCCESS_STATES,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.application_id = application_id
        self.job_run_id = job_run_id
        self.target_states = set(target_states)

    def poke(self, context: dict[str, Any]) -> bool:
        state = self.hook.job_run_state(self.application_id, self.job_run_id)
        print(f"EMR serverless job {self.job_run_id} is {state}", flush=True)
        if state in JOB_FAILURE_STATES:
            raise TaskError(f"EMR Serverless job failed: {self.job_run_id} is {state}")
        return state in self.target_states
