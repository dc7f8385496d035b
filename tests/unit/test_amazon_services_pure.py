"""The amazon provider's services beyond S3, without a server: every Airflow path gives
Conveyor's class, and each class's template fields are Airflow's."""

from __future__ import annotations

import pytest

from airflow_hook_on import assert_paths_give
from conveyor.exceptions import DagDefinitionError
from conveyor.providers.amazon import athena, ecs, emr, glue, lambda_function, sns, sqs


def test_the_airflow_paths_give_conveyor_classes(airflow_hook: None) -> None:
    p = "airflow.providers.amazon.aws"
    assert_paths_give(
        {
            f"{p}.operators.sqs": {"SqsPublishOperator": sqs.SqsPublishOperator},
            f"{p}.sensors.sqs": {"SqsSensor": sqs.SqsSensor},
            f"{p}.operators.sns": {"SnsPublishOperator": sns.SnsPublishOperator},
            f"{p}.operators.lambda_function": {
                "LambdaInvokeFunctionOperator": lambda_function.LambdaInvokeFunctionOperator
            },
            f"{p}.operators.athena": {"AthenaOperator": athena.AthenaOperator},
            f"{p}.operators.glue": {"GlueJobOperator": glue.GlueJobOperator},
            f"{p}.operators.glue_crawler": {"GlueCrawlerOperator": glue.GlueCrawlerOperator},
            f"{p}.operators.ecs": {"EcsRunTaskOperator": ecs.EcsRunTaskOperator},
            f"{p}.operators.emr_add_steps": {"EmrAddStepsOperator": emr.EmrAddStepsOperator},
            f"{p}.sensors.emr": {"EmrStepSensor": emr.EmrStepSensor},
            "airflow.contrib.operators.aws_athena_operator": {
                "AWSAthenaOperator": athena.AthenaOperator
            },
            "airflow.contrib.sensors.emr_step_sensor": {"EmrStepSensor": emr.EmrStepSensor},
            "airflow.contrib.operators.ecs_operator": {"ECSOperator": ecs.EcsRunTaskOperator},
            "airflow.contrib.hooks.aws_lambda_hook": {
                "AwsLambdaHook": lambda_function.AwsLambdaHook
            },
        }
    )


def _aws(*names: str) -> tuple[str, ...]:
    return tuple(sorted({"aws_conn_id", "region_name", "verify", *names}))


@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (
            sqs.SqsPublishOperator,
            _aws(
                "sqs_queue",
                "message_content",
                "delay_seconds",
                "message_attributes",
                "message_group_id",
                "message_deduplication_id",
            ),
        ),
        (sqs.SqsSensor, _aws("sqs_queue", "max_messages", "message_filtering_config")),
        (
            athena.AthenaOperator,
            _aws("query", "database", "output_location", "workgroup", "catalog"),
        ),
        (athena.AthenaSensor, _aws("query_execution_id")),
        (glue.GlueJobSensor, _aws("job_name", "run_id")),
        (glue.GlueCrawlerOperator, _aws("config")),
        (emr.EmrStepSensor, _aws("job_flow_id", "step_id", "target_states", "failed_states")),
        (emr.EmrTerminateJobFlowOperator, _aws("job_flow_id")),
        (
            lambda_function.LambdaInvokeFunctionOperator,
            _aws("function_name", "payload", "qualifier", "invocation_type"),
        ),
    ],
)
def test_template_fields_are_airflows(cls: type, fields: tuple[str, ...]) -> None:
    assert tuple(cls.template_fields) == fields  # type: ignore[attr-defined]


def test_keywords_airflow_refuses_are_refused_when_the_file_loads() -> None:
    with pytest.raises(DagDefinitionError, match="Exactly one of job_flow_id or job_flow_name"):
        emr.EmrAddStepsOperator(task_id="t", steps=[])
    # Airflow filters by JSONPath; Conveyor refuses it when the sensor runs, not as it loads.
    jsonpath = sqs.SqsSensor(task_id="t", sqs_queue="q", message_filtering="jsonpath")
    assert "jsonpath" in (jsonpath.refused_when_run or "")
