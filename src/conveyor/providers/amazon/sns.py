"""Airflow's SNS hook and operator: ``SnsHook.publish_to_target`` and
``SnsPublishOperator`` (its XCom is the message id)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from conveyor.providers.amazon._operator import AwsBaseOperator, aws_template_fields
from conveyor.providers.amazon.base_aws import AwsBaseHook, names_the_connection


def _attribute(key: str, value: Any) -> dict[str, Any]:
    """One message attribute as SNS takes it, typed from the Python value as Airflow's."""
    if isinstance(value, str):
        return {"DataType": "String", "StringValue": value}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"DataType": "Number", "StringValue": str(value)}
    if isinstance(value, list):
        return {"DataType": "String.Array", "StringValue": json.dumps(value)}
    raise TypeError(
        f"Values in MessageAttributes must be one of bytes, str, int, float, or "
        f"iterable; got {type(value).__name__} for {key!r}"
    )


class SnsHook(AwsBaseHook):
    """``get_conn()`` is boto3's SNS client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "sns"
        super().__init__(*args, **kwargs)

    @names_the_connection
    def publish_to_target(
        self,
        target_arn: str,
        message: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        message_deduplication_id: str | None = None,
        message_group_id: str | None = None,
    ) -> dict[str, Any]:
        """Publish ``message`` to a topic or endpoint; SNS's answer (``MessageId``, and
        ``SequenceNumber`` for a FIFO topic), which Airflow's hook returns whole too."""
        params: dict[str, Any] = {
            "TargetArn": target_arn,
            "MessageStructure": "json",
            "Message": json.dumps({"default": message}),
        }
        if subject:
            params["Subject"] = subject
        if message_attributes:
            params["MessageAttributes"] = {
                k: _attribute(k, v) for k, v in message_attributes.items()
            }
        if message_deduplication_id:
            params["MessageDeduplicationId"] = message_deduplication_id
        if message_group_id:
            params["MessageGroupId"] = message_group_id
        answer: dict[str, Any] = self.get_conn().publish(**params)
        return answer


class SnsPublishOperator(AwsBaseOperator[SnsHook]):
    """Publish ``message`` (with ``subject`` and ``message_attributes``) to ``target_arn``."""

    aws_hook_class = SnsHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields(
        "target_arn",
        "message",
        "subject",
        "message_attributes",
        "message_deduplication_id",
        "message_group_id",
    )

    def __init__(
        self,
        task_id: str,
        *,
        target_arn: str,
        message: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        message_deduplication_id: str | None = None,
        message_group_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.target_arn = target_arn
        self.message = message
        self.subject = subject
        self.message_attributes = message_attributes
        self.message_deduplication_id = message_deduplication_id
        self.message_group_id = message_group_id

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        print(f"Sending SNS notification to {self.target_arn}", flush=True)
        return self.hook.publish_to_target(
            target_arn=self.target_arn,
            message=self.message,
            subject=self.subject,
            message_attributes=self.message_attributes,
            message_deduplication_id=self.message_deduplication_id,
            message_group_id=self.message_group_id,
        )


#: Airflow 1.10's name (``airflow.contrib.hooks.aws_sns_hook``).
AwsSnsHook = SnsHook
