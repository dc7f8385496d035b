"""Airflow's ``EcsHook`` and ``EcsRunTaskOperator``: run a task on an ECS cluster and, with
``wait_for_completion``, wait until it stopped; a container that ended with a non-zero exit
code (or a task that never started) fails the Conveyor task."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.providers.amazon._operator import AwsBaseOperator
from conveyor.providers.amazon.base_aws import AwsBaseHook, names_the_connection


class EcsHook(AwsBaseHook):
    """``get_conn()`` is boto3's ECS client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "ecs"
        super().__init__(*args, **kwargs)

    @names_the_connection
    def get_cluster_state(self, cluster_name: str) -> str:
        return str(
            self.get_conn().describe_clusters(clusters=[cluster_name])["clusters"][0]["status"]
        )

    @names_the_connection
    def get_task_definition_state(self, task_definition: str) -> str:
        answer = self.get_conn().describe_task_definition(taskDefinition=task_definition)
        return str(answer["taskDefinition"]["status"])

    @names_the_connection
    def get_task_state(self, cluster: str, task: str) -> str:
        return str(
            self.get_conn().describe_tasks(cluster=cluster, tasks=[task])["tasks"][0]["lastStatus"]
        )


class EcsRunTaskOperator(AwsBaseOperator[EcsHook]):
    """Run ``task_definition`` on ``cluster`` with ``overrides``; the task's ARN is the XCom
    ``ecs_task_arn``."""

    aws_hook_class = EcsHook
    template_fields: ClassVar[tuple[str, ...]] = (
        "task_definition",
        "cluster",
        "overrides",
        "launch_type",
        "capacity_provider_strategy",
        "volume_configurations",
        "group",
        "placement_constraints",
        "placement_strategy",
        "platform_version",
        "network_configuration",
        "tags",
        "awslogs_group",
        "awslogs_region",
        "awslogs_stream_prefix",
        "awslogs_fetch_interval",
        "container_name",
        "propagate_tags",
        "reattach",
        "number_logs_exception",
        "wait_for_completion",
        "deferrable",
    )
    ui_color = "#f0ede4"

    def __init__(
        self,
        task_id: str,
        *,
        task_definition: str,
        cluster: str,
        overrides: dict[str, Any],
        launch_type: str = "EC2",
        capacity_provider_strategy: list[Any] | None = None,
        volume_configurations: list[Any] | None = None,
        group: str | None = None,
        placement_constraints: list[Any] | None = None,
        placement_strategy: list[Any] | None = None,
        platform_version: str | None = None,
        network_configuration: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        awslogs_group: str | None = None,
        awslogs_region: str | None = None,
        awslogs_stream_prefix: str | None = None,
        awslogs_fetch_interval: timedelta = timedelta(seconds=30),
        container_name: str | None = None,
        propagate_tags: str | None = None,
        quota_retry: dict[str, Any] | None = None,
        reattach: bool = False,
        number_logs_exception: int = 10,
        wait_for_completion: bool = True,
        waiter_delay: int = 6,
        waiter_max_attempts: int = 1000000,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.task_definition = task_definition
        self.cluster = cluster
        self.overrides = overrides
        self.launch_type = launch_type
        self.capacity_provider_strategy = capacity_provider_strategy
        self.volume_configurations = volume_configurations
        self.group = group
        self.placement_constraints = placement_constraints
        self.placement_strategy = placement_strategy
        self.platform_version = platform_version
        self.network_configuration = network_configuration
        self.tags = tags
        self.awslogs_group = awslogs_group
        self.awslogs_region = awslogs_region
        self.awslogs_stream_prefix = awslogs_stream_prefix
        self.awslogs_fetch_interval = awslogs_fetch_interval
        self.container_name = container_name
        self.propagate_tags = propagate_tags
        self.quota_retry = quota_retry
        self.reattach = reattach
        self.number_logs_exception = number_logs_exception
        self.wait_for_completion = wait_for_completion
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts
        self.arn: str | None = None

    def _run_request(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "cluster": self.cluster,
            "taskDefinition": self.task_definition,
            "overrides": self.overrides,
            "startedBy": self.owner or "airflow",
        }
        if self.capacity_provider_strategy:
            params["capacityProviderStrategy"] = self.capacity_provider_strategy
        elif self.launch_type:
            params["launchType"] = self.launch_type
        optional = {
            "volumeConfigurations": self.volume_configurations,
            "group": self.group,
            "placementConstraints": self.placement_constraints,
            "placementStrategy": self.placement_strategy,
            "platformVersion": self.platform_version,
            "networkConfiguration": self.network_configuration,
            "propagateTags": self.propagate_tags,
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        if self.tags:
            params["tags"] = [{"key": k, "value": v} for k, v in self.tags.items()]
        return params

    def execute(self, context: dict[str, Any]) -> None:
        client = self.hook.get_conn()
        answer = client.run_task(**self._run_request())
        if answer.get("failures"):
            raise TaskError(f"ECS task failed to start: {answer['failures']}")
        self.arn = str(answer["tasks"][0]["taskArn"])
        print(f"ECS Task started: {self.arn}", flush=True)
        context["ti"].xcom_push(key="ecs_task_arn", value=self.arn)
        if not (self.wait_for_completion or self.deferrable):
            return
        client.get_waiter("tasks_stopped").wait(
            cluster=self.cluster,
            tasks=[self.arn],
            WaiterConfig={"Delay": self.waiter_delay, "MaxAttempts": self.waiter_max_attempts},
        )
        self._check_success(client)

    def _check_success(self, client: Any) -> None:
        answer = client.describe_tasks(cluster=self.cluster, tasks=[self.arn])
        if answer.get("failures"):
            raise TaskError(f"ECS task {self.arn}: {answer['failures']}")
        for task in answer["tasks"]:
            if task.get("stopCode", "") == "TaskFailedToStart":
                raise TaskError(f"The task failed to start: {task.get('stoppedReason', '')}")
            for container in task.get("containers", []):
                status = container.get("lastStatus")
                if status == "STOPPED" and container.get("exitCode", 1) != 0:
                    raise TaskError(f"This task is not in success state - last status {task}")
                if status == "PENDING":
                    raise TaskError(f"This task is still pending {task}")

    def on_kill(self) -> None:
        if self.arn:
            self.hook.get_conn().stop_task(
                cluster=self.cluster, task=self.arn, reason="Task killed by the user"
            )


#: Airflow 1.10's and the early provider's name.
ECSOperator = EcsRunTaskOperator
EcsOperator = EcsRunTaskOperator
