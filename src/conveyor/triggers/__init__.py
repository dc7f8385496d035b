"""Triggers: small async waits a deferred try hands to a triggerer (``conveyor triggerer``).

``BaseTrigger`` and ``TriggerEvent`` for users' own (``BaseEventTrigger`` for an asset
watcher's); ``DateTimeTrigger``, ``TimeDeltaTrigger``, ``FileTrigger`` and
``MessageQueueTrigger`` (``RedisStreamTrigger``) shipped. Airflow's paths to them are rows
of ``airflow_compat/table.py``.
"""

from conveyor.triggers.base import BaseEventTrigger, BaseTrigger, QueueMessage, TriggerEvent
from conveyor.triggers.file import FileTrigger
from conveyor.triggers.message_queue import MessageQueueTrigger
from conveyor.triggers.redis_stream import RedisStreamTrigger
from conveyor.triggers.temporal import DateTimeTrigger, TimeDeltaTrigger

__all__ = [
    "BaseEventTrigger",
    "BaseTrigger",
    "DateTimeTrigger",
    "FileTrigger",
    "MessageQueueTrigger",
    "QueueMessage",
    "RedisStreamTrigger",
    "TimeDeltaTrigger",
    "TriggerEvent",
]
