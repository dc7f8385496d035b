"""The number of the try an Airflow task instance is at, as Conveyor and Airflow 2.10 mean it.

Airflow 2.10 changed what ``task_instance.try_number`` holds. From 2.10 it is the number of
the try the instance is at: raised when the try is scheduled, kept while it is deferred or
waits for its next poke (``up_for_reschedule``). Before 2.10 it counted the tries that had
started: raised only when a worker began one, and lowered again when a try deferred or was
rescheduled (so its next part, which is the same try, raised it back). In the states where
the two differ, the older number is one less:

- ``scheduled``, ``queued``: the try about to start had not been counted;
- ``deferred``, ``up_for_reschedule``: the try under way had been taken back.

Every other state holds the same number in both: ``running`` and the finished states the
try that ran, ``up_for_retry`` the try that failed, no state the tries begun before it was
cleared. (An ``EmptyOperator``'s instance, which the scheduler marks success without running
it, is no try in 2.9 and try 1 from 2.10: each is read as it is.)
"""

from __future__ import annotations

#: The first release whose ``try_number`` is the try's own number.
NUMBERED_WHEN_SCHEDULED = (2, 10)
#: The states in which an older release's ``try_number`` is one behind.
ONE_BEHIND = frozenset({"scheduled", "queued", "deferred", "up_for_reschedule"})


def counts_started_tries(release: str) -> bool:
    """Whether a database of Airflow ``release`` counts tries started (before 2.10)."""
    major, minor = (int(part) for part in release.split(".")[:2])
    return (major, minor) < NUMBERED_WHEN_SCHEDULED


def try_number(release: str, state: str | None, stored: int) -> int:
    """The number of the try an instance in ``state`` is at, from the ``try_number`` a
    database of ``release`` stored for it."""
    if state in ONE_BEHIND and counts_started_tries(release):
        return stored + 1
    return stored
