"""Airflow's SQS hook, operator and sensor: ``SqsHook``, ``SqsPublishOperator`` (send one
message; its XCom is SQS's answer) and ``SqsSensor`` (wait for messages; they are the
task's XCom under the key ``messages``, deleted from the queue unless told otherwise)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from conveyor.exceptions import DagDefinitionError, TaskError
from conveyor.providers.amazon._operator import (
    AwsBaseOperator,
    AwsBaseSensor,
    aws_template_fields,
)
from conveyor.providers.amazon.base_aws import AwsBaseHook, names_the_connection


def receive_messages(
    client: Any,
    queue_url: str,
    *,
    max_messages: int,
    wait_time_seconds: int,
    visibility_timeout: int | None,
) -> list[dict[str, Any]]:
    """One ``ReceiveMessage`` of boto3's SQS ``client`` (a long poll of ``wait_time_seconds``):
    the messages, each invisible to other receivers for ``visibility_timeout`` (the queue's
    own when None)."""
    params: dict[str, Any] = {
        "QueueUrl": queue_url,
        "MaxNumberOfMessages": max_messages,
        "WaitTimeSeconds": wait_time_seconds,
    }
    if visibility_timeout is not None:
        params["VisibilityTimeout"] = visibility_timeout
    return list(client.receive_message(**params).get("Messages", []))


class SqsHook(AwsBaseHook):
    """``get_conn()`` is boto3's SQS client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "sqs"
        super().__init__(*args, **kwargs)

    @names_the_connection
    def create_queue(self, queue_name: str, attributes: dict[str, Any] | None = None) -> Any:
        """Create ``queue_name``; SQS's answer (``QueueUrl``)."""
        return self.get_conn().create_queue(QueueName=queue_name, Attributes=attributes or {})

    @names_the_connection
    def send_message(
        self,
        queue_url: str,
        message_body: str,
        delay_seconds: int = 0,
        message_attributes: dict[str, Any] | None = None,
        message_group_id: str | None = None,
        message_deduplication_id: str | None = None,
    ) -> Any:
        """Send one message; SQS's answer (``MessageId``, ``MD5OfMessageBody``...)."""
        params: dict[str, Any] = {
            "QueueUrl": queue_url,
            "MessageBody": message_body,
            "DelaySeconds": delay_seconds,
            "MessageAttributes": message_attributes or {},
        }
        if message_group_id:
            params["MessageGroupId"] = message_group_id
        if message_deduplication_id:
            params["MessageDeduplicationId"] = message_deduplication_id
        return self.get_conn().send_message(**params)


class SqsPublishOperator(AwsBaseOperator[SqsHook]):
    """Send ``message_content`` to the queue at the URL ``sqs_queue``."""

    aws_hook_class = SqsHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields(
        "sqs_queue",
        "message_content",
        "delay_seconds",
        "message_attributes",
        "message_group_id",
        "message_deduplication_id",
    )

    def __init__(
        self,
        task_id: str,
        *,
        sqs_queue: str,
        message_content: str,
        message_attributes: dict[str, Any] | None = None,
        delay_seconds: int = 0,
        message_group_id: str | None = None,
        message_deduplication_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.sqs_queue = sqs_queue
        self.message_content = message_content
        self.message_attributes = message_attributes or {}
        self.delay_seconds = delay_seconds
        self.message_group_id = message_group_id
        self.message_deduplication_id = message_deduplication_id

    def execute(self, context: dict[str, Any]) -> Any:
        result = self.hook.send_message(
            queue_url=self.sqs_queue,
            message_body=self.message_content,
            delay_seconds=self.delay_seconds,
            message_attributes=self.message_attributes,
            message_group_id=self.message_group_id,
            message_deduplication_id=self.message_deduplication_id,
        )
        print(f"send_message result: {result}", flush=True)
        return result


#: The filters SqsSensor offers; "jsonpath" needs a JSONPath library Conveyor does not ship.
_FILTERS = (None, "literal")


class SqsSensor(AwsBaseSensor[SqsHook]):
    """Wait until ``sqs_queue`` (a URL) gives at least one message (that passes
    ``message_filtering``); ``num_batches`` receive calls of up to ``max_messages`` each."""

    aws_hook_class = SqsHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields(
        "sqs_queue", "max_messages", "message_filtering_config"
    )

    def __init__(
        self,
        task_id: str,
        *,
        sqs_queue: str,
        max_messages: int = 5,
        num_batches: int = 1,
        wait_time_seconds: int = 1,
        visibility_timeout: int | None = None,
        message_filtering: str | None = None,
        message_filtering_match_values: Any = None,
        message_filtering_config: Any = None,
        delete_message_on_reception: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        if message_filtering not in _FILTERS:  # refused when it runs: the file loads
            self.refuse_when_run(
                f"task {self.task_id!r}: SqsSensor's message_filtering={message_filtering!r} "
                "is not supported by Conveyor (it takes None or 'literal'); filter the "
                "messages in a downstream task"
            )
        if message_filtering == "literal" and message_filtering_match_values is None:
            raise DagDefinitionError(
                f"task {self.task_id!r}: message_filtering='literal' needs "
                "message_filtering_match_values"
            )
        self.sqs_queue = sqs_queue
        self.max_messages = max_messages
        self.num_batches = num_batches
        self.wait_time_seconds = wait_time_seconds
        self.visibility_timeout = visibility_timeout
        self.message_filtering = message_filtering
        self.message_filtering_match_values = message_filtering_match_values
        self.message_filtering_config = message_filtering_config
        self.delete_message_on_reception = delete_message_on_reception

    def poke(self, context: dict[str, Any]) -> bool:
        batch: list[dict[str, Any]] = []
        for _ in range(self.num_batches):
            batch.extend(self._receive())
        if not batch:
            return False
        context["ti"].xcom_push(key="messages", value=batch)
        return True

    def _receive(self) -> list[dict[str, Any]]:
        client = self.hook.get_conn()
        messages = receive_messages(
            client,
            self.sqs_queue,
            max_messages=self.max_messages,
            wait_time_seconds=self.wait_time_seconds,
            visibility_timeout=self.visibility_timeout,
        )
        if self.message_filtering == "literal":
            wanted = self.message_filtering_match_values
            messages = [m for m in messages if m["Body"] in wanted]
        if messages and self.delete_message_on_reception:
            answer = client.delete_message_batch(
                QueueUrl=self.sqs_queue,
                Entries=[
                    {"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in messages
                ],
            )
            if answer.get("Failed"):
                raise TaskError(
                    f"Delete SQS Messages failed {json.dumps(answer['Failed'])} "
                    f"for messages {json.dumps(messages)}"
                )
        return list(messages)


#: Airflow 1.10's and the early provider's names.
SQSHook = SqsHook
SQSPublishOperator = SqsPublishOperator
SQSSensor = SqsSensor
