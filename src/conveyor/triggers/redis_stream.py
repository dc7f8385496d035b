"""``RedisStreamTrigger``: each entry of a Redis Stream is one event, acknowledged after use.

A consumer group (``group``) on the stream keeps what was delivered and not acknowledged
(its pending entries list). The trigger reads as one named consumer: first the entries
delivered to that consumer before and never acknowledged (a triggerer that crashed between
reading an entry and recording it), then new ones (``XREADGROUP ... >``). Each entry is
acknowledged (``XACK``) only when the triggerer says its event is committed. The group is
made at the stream's start when missing, so entries added before the first watcher ran
are events too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from conveyor.install_hint import pip_install
from conveyor.triggers.base import BaseEventTrigger, QueueMessage, TriggerEvent

#: How long one blocking read waits (ms): a cancelled watcher stops within it.
_BLOCK_MS = 1000


class RedisStreamTrigger(BaseEventTrigger):
    """Events from ``stream`` on the Redis at ``url``, read through consumer ``group``;
    the payload is ``{"stream", "id", "fields"}`` (fields decoded as UTF-8 text)."""

    def __init__(
        self,
        stream: str,
        url: str = "redis://127.0.0.1:6379/0",
        group: str = "conveyor",
        consumer: str = "conveyor",
        batch: int = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if not isinstance(stream, str) or not stream:
            raise ValueError(
                f"RedisStreamTrigger: stream must be a non-empty string, got {stream!r}"
            )
        self.stream = stream
        self.url = str(url)
        self.group = str(group)
        self.consumer = str(consumer)
        self.batch = int(batch)
        self._client: Any = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "conveyor.triggers.redis_stream.RedisStreamTrigger",
            {
                "stream": self.stream,
                "url": self.url,
                "group": self.group,
                "consumer": self.consumer,
                "batch": self.batch,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            import redis.asyncio as aioredis
            from redis.exceptions import ResponseError
        except ImportError as exc:
            raise RuntimeError(
                f"RedisStreamTrigger needs the redis library: {pip_install('redis')}"
            ) from exc
        self._client = client = aioredis.Redis.from_url(self.url, decode_responses=True)
        try:
            await client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        # "0": this consumer's pending entries (delivered before, never acknowledged), until
        # none is left; then ">": entries never delivered to the group.
        position = "0"
        while True:
            # RESP2's shape, [[stream, [(id, fields), ...]]] (the client's stubs say more).
            found: Any = await client.xreadgroup(
                self.group,
                self.consumer,
                {self.stream: position},
                count=self.batch,
                block=None if position == "0" else _BLOCK_MS,
            )
            entries = found[0][1] if found else []
            if position == "0" and not entries:
                position = ">"
                continue
            for entry_id, fields in entries:
                if fields is None:  # trimmed from the stream while pending: nothing to use
                    await client.xack(self.stream, self.group, entry_id)
                    continue
                payload = {"stream": self.stream, "id": entry_id, "fields": dict(fields)}
                yield QueueMessage(payload, message_id=entry_id)
            if position == "0" and entries:
                position = entries[-1][0]  # the next pending ones after these

    async def acknowledge(self, event: TriggerEvent) -> None:
        if isinstance(event, QueueMessage) and self._client is not None:
            await self._client.xack(self.stream, self.group, event.message_id)

    async def cleanup(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
