"""``MessageQueueTrigger``: Airflow's one trigger for every message queue, by ``scheme=``.

Airflow picks the provider's trigger from the scheme and passes the other keyword
arguments to it; so does Conveyor, among the schemes it can acknowledge a message on after
the event is committed (which is what makes a watcher's events exactly once):

- ``redis+stream``: a Redis Stream read through a consumer group (``RedisStreamTrigger``:
  ``stream=``, ``url=``, ``group=``, ``consumer=``);
- ``sqs``: an SQS queue, Airflow's scheme and keywords (``SqsQueueTrigger``: ``sqs_queue=``,
  ``aws_conn_id=``, ``region_name=``, ``visibility_timeout=``, ...), a message deleted
  after its event is committed.

Airflow's other schemes (``redis+pubsub``, ``kafka``, ``google+pubsub``) are
refused where the DAG is parsed, naming the ones Conveyor has: a Redis channel cannot
acknowledge (a message published while no triggerer listens is lost), and the others'
clients are not part of Conveyor.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from typing import Any

from conveyor.exceptions import DagDefinitionError
from conveyor.install_hint import pip_install
from conveyor.triggers.base import BaseEventTrigger, TriggerEvent

#: scheme -> the import path of the trigger that reads it (imported when a DAG names the
#: scheme: the amazon provider's lives above this package and needs boto3).
SCHEMES: dict[str, str] = {
    "redis+stream": "conveyor.triggers.redis_stream.RedisStreamTrigger",
    "sqs": "conveyor.providers.amazon.sqs_watch.SqsQueueTrigger",
}


def _trigger_class(scheme: str) -> type[BaseEventTrigger]:
    module, _, name = SCHEMES[scheme].rpartition(".")
    found: type[BaseEventTrigger] = getattr(importlib.import_module(module), name)
    return found


class MessageQueueTrigger(BaseEventTrigger):
    """The trigger of ``scheme`` (``queue=``, Airflow's older spelling, is refused: it
    named the queue by a URI whose form each provider defined)."""

    def __init__(
        self,
        *,
        scheme: str | None = None,
        queue: str | None = None,
        trigger_queue: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if queue is not None:
            raise DagDefinitionError(
                f"MessageQueueTrigger(queue={queue!r}): Conveyor takes scheme= and the "
                f"queue's keyword arguments (Airflow deprecated queue=); schemes: "
                f"{', '.join(SCHEMES)}"
            )
        if scheme not in SCHEMES:
            raise DagDefinitionError(
                f"MessageQueueTrigger(scheme={scheme!r}): Conveyor reads {', '.join(SCHEMES)} "
                f"(a queue that acknowledges a message once its event is committed); "
                f"{scheme!r} is not one of them"
            )
        self.scheme = scheme
        try:
            found = _trigger_class(scheme)
        except ImportError as exc:
            extra = "amazon" if scheme == "sqs" else "redis"
            raise DagDefinitionError(
                f"MessageQueueTrigger(scheme={scheme!r}) needs {exc.name}: {pip_install(extra)}"
            ) from exc
        try:
            self.trigger = found(**kwargs)
        except (TypeError, ValueError) as exc:
            raise DagDefinitionError(f"MessageQueueTrigger(scheme={scheme!r}): {exc}") from exc

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return self.trigger.serialize()  # the scheme's own trigger runs in the triggerer

    async def run(self) -> AsyncIterator[TriggerEvent]:
        async for event in self.trigger.run():
            yield event

    async def acknowledge(self, event: TriggerEvent) -> None:
        await self.trigger.acknowledge(event)

    async def cleanup(self) -> None:
        await self.trigger.cleanup()
