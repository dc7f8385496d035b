"""``SqsQueueTrigger``: each message of an SQS queue is one event, deleted after use.

What ``MessageQueueTrigger(scheme="sqs", sqs_queue=..., aws_conn_id=...)`` runs in an asset
watcher. A received message stays invisible for the queue's visibility timeout; it is
deleted (with the receipt handle of that delivery) only when the triggerer says its asset
event is committed. A triggerer killed in between leaves it undeleted: SQS delivers it again
once the timeout passes, with the same ``MessageId``, which the store finds recorded. The
payload has Airflow's ``SqsSensorTrigger`` shape, ``{"status": "success", "message_batch":
[message]}``, one message a batch (Airflow's trigger makes one event of a batch).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from conveyor.providers.amazon.sqs import SqsHook, receive_messages
from conveyor.triggers.base import BaseEventTrigger, QueueMessage, TriggerEvent


class SqsQueueTrigger(BaseEventTrigger):
    """Messages of ``sqs_queue`` (its URL) through the ``aws`` connection ``aws_conn_id``."""

    def __init__(
        self,
        sqs_queue: str,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        max_messages: int = 10,
        wait_time_seconds: int = 1,
        visibility_timeout: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if not isinstance(sqs_queue, str) or not sqs_queue:
            raise ValueError(f"sqs_queue must be the queue's URL, got {sqs_queue!r}")
        if kwargs.get("delete_message_on_reception") is False:
            raise ValueError(
                "delete_message_on_reception=False: a watcher's message is deleted once its "
                "asset event is committed (that is what makes it one event)"
            )
        self.sqs_queue = sqs_queue
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.max_messages = int(max_messages)
        self.wait_time_seconds = int(wait_time_seconds)
        self.visibility_timeout = None if visibility_timeout is None else int(visibility_timeout)
        self._client: Any = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "conveyor.providers.amazon.sqs_watch.SqsQueueTrigger",
            {
                "sqs_queue": self.sqs_queue,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "max_messages": self.max_messages,
                "wait_time_seconds": self.wait_time_seconds,
                "visibility_timeout": self.visibility_timeout,
            },
        )

    def _receive(self) -> list[dict[str, Any]]:
        if self._client is None:
            hook = SqsHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)
            self._client = hook.get_conn()
        return receive_messages(
            self._client,
            self.sqs_queue,
            max_messages=self.max_messages,
            wait_time_seconds=self.wait_time_seconds,
            visibility_timeout=self.visibility_timeout,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            # boto3 blocks: its long poll waits in a thread, not on the triggers' loop.
            for message in await asyncio.to_thread(self._receive):
                payload = {"status": "success", "message_batch": [message]}
                yield QueueMessage(payload, message_id=str(message["MessageId"]))

    async def acknowledge(self, event: TriggerEvent) -> None:
        if not isinstance(event, QueueMessage) or self._client is None:
            return
        handle = event.payload["message_batch"][0]["ReceiptHandle"]
        await asyncio.to_thread(
            self._client.delete_message, QueueUrl=self.sqs_queue, ReceiptHandle=handle
        )
