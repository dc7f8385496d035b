"""Airflow's EMR pieces: ``EmrHook``, ``EmrCreateJobFlowOperator`` (its XCom is the cluster
id), ``EmrAddStepsOperator`` (the step ids), ``EmrTerminateJobFlowOperator``,
``EmrJobFlowSensor`` and ``EmrStepSensor``.

``EmrHook.create_job_flow`` starts from the ``emr`` connection's extra (``emr_conn_id``,
``emr_default``) and lays ``job_flow_overrides`` over it, as Airflow's does.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from typing import Any, ClassVar

from conveyor.exceptions import NotFoundError, TaskError
from conveyor.providers.amazon._operator import (
    AwsBaseOperator,
    AwsBaseSensor,
    aws_template_fields,
)
from conveyor.providers.amazon.base_aws import AwsBaseHook, names_the_connection


class EmrHook(AwsBaseHook):
    """``get_conn()`` is boto3's EMR client; ``emr_conn_id`` the job flow's defaults."""

    def __init__(self, emr_conn_id: str | None = "emr_default", *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "emr"
        super().__init__(*args, **kwargs)
        self.emr_conn_id = emr_conn_id

    @names_the_connection
    def create_job_flow(self, job_flow_overrides: dict[str, Any]) -> Any:
        """RunJobFlow with the ``emr`` connection's extra under ``job_flow_overrides``."""
        config: dict[str, Any] = {}
        if self.emr_conn_id:
            try:
                config = self.get_connection(self.emr_conn_id).extra_dejson
            except NotFoundError:
                self.log.warning(
                    "no connection %r: the job flow is job_flow_overrides alone", self.emr_conn_id
                )
        config.update(job_flow_overrides)
        return self.get_conn().run_job_flow(**config)

    @names_the_connection
    def get_cluster_id_by_name(
        self, emr_cluster_name: str, cluster_states: list[str]
    ) -> str | None:
        """The id of the one cluster named so in ``cluster_states`` (None: none)."""
        listed = self.get_conn().list_clusters(ClusterStates=cluster_states)["Clusters"]
        found = [c["Id"] for c in listed if c["Name"] == emr_cluster_name]
        if len(found) > 1:
            raise TaskError(f"More than one cluster found for name {emr_cluster_name}")
        return str(found[0]) if found else None

    @names_the_connection
    def add_job_flow_steps(
        self,
        job_flow_id: str,
        steps: list[dict[str, Any]] | str | None = None,
        wait_for_completion: bool = False,
        waiter_delay: int | None = None,
        waiter_max_attempts: int | None = None,
        execution_role_arn: str | None = None,
    ) -> list[str]:
        """Add the steps; their ids. ``wait_for_completion`` waits until each completed."""
        params: dict[str, Any] = {"JobFlowId": job_flow_id, "Steps": steps or []}
        if execution_role_arn:
            params["ExecutionRoleArn"] = execution_role_arn
        ids = [str(i) for i in self.get_conn().add_job_flow_steps(**params)["StepIds"]]
        if wait_for_completion:
            waiter = self.get_conn().get_waiter("step_complete")
            for step_id in ids:
                waiter.wait(
                    ClusterId=job_flow_id,
                    StepId=step_id,
                    WaiterConfig={
                        "Delay": waiter_delay or 30,
                        "MaxAttempts": waiter_max_attempts or 60,
                    },
                )
        return ids


class EmrCreateJobFlowOperator(AwsBaseOperator[EmrHook]):
    """Create an EMR cluster (job flow) from ``emr_conn_id``'s extra and
    ``job_flow_overrides``; ``wait_for_completion`` waits until it is running or waiting."""

    aws_hook_class = EmrHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields(
        "emr_conn_id", "job_flow_overrides", "waiter_delay", "waiter_max_attempts"
    )
    template_ext = (".json",)
    ui_color = "#f9c915"

    def __init__(
        self,
        task_id: str,
        *,
        emr_conn_id: str | None = "emr_default",
        job_flow_overrides: str | dict[str, Any] | None = None,
        wait_for_completion: bool | None = None,
        wait_policy: Any = None,
        waiter_max_attempts: int | None = None,
        waiter_delay: int | None = None,
        terminate_job_flow_on_failure: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.emr_conn_id = emr_conn_id
        self.job_flow_overrides = job_flow_overrides or {}
        self.wait_for_completion = bool(wait_for_completion or wait_policy)
        self.waiter_max_attempts = waiter_max_attempts or 60
        self.waiter_delay = waiter_delay or 60
        self.terminate_job_flow_on_failure = terminate_job_flow_on_failure

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {"emr_conn_id": self.emr_conn_id}

    def execute(self, context: dict[str, Any]) -> str:
        overrides = self.job_flow_overrides
        if isinstance(overrides, str):  # a rendered .json file, or a dict's text
            overrides = (
                json.loads(overrides)
                if overrides.lstrip().startswith("{")
                else ast.literal_eval(overrides)
            )
        answer = self.hook.create_job_flow(overrides)
        job_flow_id = str(answer["JobFlowId"])
        print(f"Job flow with id {job_flow_id} created", flush=True)
        if self.wait_for_completion or self.deferrable:
            try:
                self.hook.get_conn().get_waiter("cluster_running").wait(
                    ClusterId=job_flow_id,
                    WaiterConfig={
                        "Delay": self.waiter_delay,
                        "MaxAttempts": self.waiter_max_attempts,
                    },
                )
            except Exception:
                if self.terminate_job_flow_on_failure:
                    self.hook.get_conn().terminate_job_flows(JobFlowIds=[job_flow_id])
                raise
        return job_flow_id


class EmrAddStepsOperator(AwsBaseOperator[EmrHook]):
    """Add ``steps`` to the cluster ``job_flow_id`` (or the one named ``job_flow_name`` in
    ``cluster_states``); its XCom is the step ids."""

    aws_hook_class = EmrHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields(
        "job_flow_id", "job_flow_name", "cluster_states", "steps", "execution_role_arn"
    )
    template_ext = (".json",)
    ui_color = "#f9c915"

    def __init__(
        self,
        task_id: str,
        *,
        job_flow_id: str | None = None,
        job_flow_name: str | None = None,
        cluster_states: list[str] | None = None,
        steps: list[dict[str, Any]] | str | None = None,
        wait_for_completion: bool = False,
        waiter_delay: int = 30,
        waiter_max_attempts: int = 60,
        execution_role_arn: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not (job_flow_id is None) ^ (job_flow_name is None):
            from conveyor.exceptions import DagDefinitionError

            raise DagDefinitionError(
                f"task {task_id!r}: Exactly one of job_flow_id or job_flow_name must be specified."
            )
        super().__init__(task_id, **kwargs)
        self.job_flow_id = job_flow_id
        self.job_flow_name = job_flow_name
        self.cluster_states = cluster_states or []
        self.steps = steps or []
        self.wait_for_completion = wait_for_completion
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts
        self.execution_role_arn = execution_role_arn

    def execute(self, context: dict[str, Any]) -> list[str]:
        hook = self.hook
        job_flow_id = self.job_flow_id or hook.get_cluster_id_by_name(
            str(self.job_flow_name), self.cluster_states
        )
        if not job_flow_id:
            raise TaskError(f"No cluster found for name: {self.job_flow_name}")
        steps = self.steps
        if isinstance(steps, str):
            steps = ast.literal_eval(steps)
        print(f"Adding steps to {job_flow_id}", flush=True)
        return hook.add_job_flow_steps(
            job_flow_id=job_flow_id,
            steps=steps,
            wait_for_completion=self.wait_for_completion or self.deferrable,
            waiter_delay=self.waiter_delay,
            waiter_max_attempts=self.waiter_max_attempts,
            execution_role_arn=self.execution_role_arn,
        )


class EmrTerminateJobFlowOperator(AwsBaseOperator[EmrHook]):
    """Terminate the cluster ``job_flow_id``."""

    aws_hook_class = EmrHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields("job_flow_id")
    ui_color = "#f9c915"

    def __init__(
        self,
        task_id: str,
        *,
        job_flow_id: str,
        waiter_delay: int = 60,
        waiter_max_attempts: int = 20,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.job_flow_id = job_flow_id
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts

    def execute(self, context: dict[str, Any]) -> None:
        client = self.hook.get_conn()
        client.terminate_job_flows(JobFlowIds=[self.job_flow_id])
        print(f"Terminating JobFlow {self.job_flow_id}", flush=True)
        if self.deferrable:  # Airflow's deferred form returns once the cluster is gone
            client.get_waiter("cluster_terminated").wait(
                ClusterId=self.job_flow_id,
                WaiterConfig={"Delay": self.waiter_delay, "MaxAttempts": self.waiter_max_attempts},
            )


class _EmrStateSensor(AwsBaseSensor[EmrHook]):
    """Pokes a state until it is one of ``target_states``; one of ``failed_states`` fails.
    Either not given (or empty) is the sensor's default, as in Airflow."""

    aws_hook_class = EmrHook
    ui_color = "#66c3ff"
    what = ""
    default_target_states: ClassVar[tuple[str, ...]] = ()
    default_failed_states: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        task_id: str,
        *,
        job_flow_id: str,
        target_states: Iterable[str] | None = None,
        failed_states: Iterable[str] | None = None,
        max_attempts: int = 60,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.job_flow_id = job_flow_id
        self.target_states = list(target_states or self.default_target_states)
        self.failed_states = list(failed_states or self.default_failed_states)
        self.max_attempts = max_attempts

    def state(self) -> tuple[str, str]:
        """The state and, when failed, why."""
        raise NotImplementedError

    def poke(self, context: dict[str, Any]) -> bool:
        state, reason = self.state()
        print(f"{self.what} currently {state}", flush=True)
        if state in self.target_states:
            return True
        if state in self.failed_states:
            raise TaskError(f"EMR job failed: {self.what} is {state}{reason}")
        return False


def _reason(status: dict[str, Any]) -> str:
    change = status.get("StateChangeReason") or status.get("FailureDetails") or {}
    detail = change.get("Message") or change.get("Reason")
    return f" ({detail})" if detail else ""


class EmrJobFlowSensor(_EmrStateSensor):
    """Wait until the cluster is in ``target_states`` (``TERMINATED``)."""

    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields(
        "job_flow_id", "target_states", "failed_states"
    )
    default_target_states = ("TERMINATED",)
    default_failed_states = ("TERMINATED_WITH_ERRORS",)

    def __init__(self, task_id: str, *, job_flow_id: str, **kwargs: Any) -> None:
        super().__init__(task_id, job_flow_id=job_flow_id, **kwargs)
        self.what = f"job flow {job_flow_id}"

    def state(self) -> tuple[str, str]:
        status = self.hook.get_conn().describe_cluster(ClusterId=self.job_flow_id)["Cluster"][
            "Status"
        ]
        return str(status["State"]), _reason(status)


class EmrStepSensor(_EmrStateSensor):
    """Wait until the step is in ``target_states`` (``COMPLETED``); a cancelled, failed or
    interrupted step fails the task."""

    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields(
        "job_flow_id", "step_id", "target_states", "failed_states"
    )
    default_target_states = ("COMPLETED",)
    default_failed_states = ("CANCELLED", "FAILED", "INTERRUPTED")

    def __init__(self, task_id: str, *, job_flow_id: str, step_id: str, **kwargs: Any) -> None:
        super().__init__(task_id, job_flow_id=job_flow_id, **kwargs)
        self.step_id = step_id
        self.what = f"step {step_id}"

    def state(self) -> tuple[str, str]:
        step = self.hook.get_conn().describe_step(ClusterId=self.job_flow_id, StepId=self.step_id)
        status = step["Step"]["Status"]
        return str(status["State"]), _reason(status)
