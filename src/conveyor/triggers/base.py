"""``BaseTrigger`` and ``TriggerEvent``: what a user's own trigger is made of.

A trigger says how to build it again (``serialize()``: its class's import path and keyword
arguments, stored as JSON with the deferred try) and waits (``async def run()``, yielding a
``TriggerEvent`` when what it waits for happened). A triggerer builds it from the stored
form in another process, so everything it needs must be in those keyword arguments.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from typing import Any


class TriggerEvent:
    """What a trigger found; its ``payload`` (JSON, datetimes allowed) reaches the resumed
    method as ``event``."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def __repr__(self) -> str:
        return f"TriggerEvent<{self.payload!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TriggerEvent) and other.payload == self.payload

    __hash__ = None  # type: ignore[assignment]


class BaseTrigger(abc.ABC):
    """Subclasses implement :meth:`serialize` and :meth:`run`."""

    def __init__(self, **kwargs: Any) -> None:
        self.trigger_id: int | None = None  # set by the triggerer that runs it

    @abc.abstractmethod
    def serialize(self) -> tuple[str, dict[str, Any]]:
        """``(import path of the class, keyword arguments to build it again)``."""

    @abc.abstractmethod
    def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait, then ``yield TriggerEvent(...)``; only the first event is used."""

    async def cleanup(self) -> None:  # noqa: B027 (a hook: nothing to do by default)
        """Called when the trigger stops, fired or not."""

    def __repr__(self) -> str:
        classpath, kwargs = self.serialize()
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        return f"<{classpath.rsplit('.', 1)[-1]} {shown}>"


class BaseEventTrigger(BaseTrigger):
    """A trigger an ``AssetWatcher`` may run: it yields events for as long as it runs, each
    an event of the watched asset. One that reads a queue yields :class:`QueueMessage` events
    and acknowledges each in :meth:`acknowledge`, which the triggerer calls only once the
    asset event is committed."""

    async def acknowledge(self, event: TriggerEvent) -> None:
        """The event is recorded: the queue may forget its message."""


class QueueMessage(TriggerEvent):
    """An event that is one message of a queue: ``message_id`` is the queue's own identity
    of it, the same when the queue delivers it again."""

    def __init__(self, payload: Any, message_id: str) -> None:
        super().__init__(payload)
        self.message_id = message_id


def classpath_of(cls: type) -> str:
    """The import path a trigger's ``serialize`` names its class by."""
    return f"{cls.__module__}.{cls.__qualname__}"
