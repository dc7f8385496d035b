"""Triggers: small async waits a deferred try hands to a triggerer (``conveyor triggerer``).

``BaseTrigger`` and ``TriggerEvent`` for users' own; ``DateTimeTrigger``, ``TimeDeltaTrigger``
and ``FileTrigger`` shipped. Airflow's paths to them are rows of ``airflow_compat/table.py``.
"""

from conveyor.triggers.base import BaseTrigger, TriggerEvent
from conveyor.triggers.file import FileTrigger
from conveyor.triggers.temporal import DateTimeTrigger, TimeDeltaTrigger

__all__ = ["BaseTrigger", "DateTimeTrigger", "FileTrigger", "TimeDeltaTrigger", "TriggerEvent"]
