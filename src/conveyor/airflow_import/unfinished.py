"""What becomes of the task instances Airflow left unfinished at the switch.

Airflow's scheduler is stopped for the switch, but a try one of its workers started may still
be running there (a worker finishes what it holds; a deferred try's job goes on outside), and
nothing reports its end to Conveyor. So, per Airflow state:

- not started (no state, ``scheduled``, ``queued``: handed to an executor that never began
  it): taken as not yet scheduled, numbered after the tries that did start (those before
  the try it was scheduled for, or those before it was cleared, whether or not Airflow kept
  their rows); Conveyor's
  scheduler runs it, as Airflow's own does after a restart with a queued try its executor lost.
- between tries (``up_for_retry``, ``up_for_reschedule``): that try ended; Conveyor runs the
  next one, at once (Airflow keeps no time for it).
- started and not ended (``running``, ``deferred``, ``restarting``): its outcome is unknown.
  Running it again could run it twice, so it is taken as failed, no retry, its try's end
  unknown; a person clears it (to run it on Conveyor) or marks it success once Airflow's
  worker is known to be stopped. The run goes on: its other tasks run, and its downstream
  tasks wait for that decision as after any failure.

A run Airflow left queued is taken queued, and Conveyor's scheduler starts it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from conveyor.store.airflow_import.records import AirflowRun, AirflowTaskInstance

#: Airflow's states of a try that has not started.
NOT_STARTED = frozenset({None, "none", "scheduled", "queued"})
#: Airflow's states of a try that started and whose end no one will report.
UNKNOWN = frozenset({"running", "deferred", "restarting", "shutdown"})
#: The task instance's timeline entry for a try taken as failed.
UNKNOWN_REASON = (
    "Airflow left this try {state} at the switch: its outcome is unknown, so it is taken as "
    "failed and not retried; clear it to run it on Conveyor, or mark it success"
)
NOT_STARTED_REASON = "Airflow had not started it ({state}): Conveyor's scheduler runs it"


@dataclass(frozen=True)
class UnknownTry:
    """A try Airflow left started, named in the plan for a person to decide on."""

    run_id: str
    task_id: str
    map_index: int
    try_number: int
    state: str
    hostname: str | None
    start_date: datetime | None

    def __str__(self) -> str:
        task = self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"
        where = f" on {self.hostname}" if self.hostname else ""
        since = f" since {self.start_date:%Y-%m-%d %H:%M}" if self.start_date else ""
        return f"{self.run_id}/{task} (try {self.try_number}, {self.state}{where}{since})"


@dataclass
class Switched:
    """A run as it is imported, and what the plan says of its unfinished instances."""

    run: AirflowRun
    unknown: list[UnknownTry]
    not_started: int
    between_tries: int


def at_switch(found: AirflowRun, now: datetime) -> Switched:
    """``found`` with each unfinished task instance as Conveyor takes it over."""
    unknown: list[UnknownTry] = []
    not_started = between = 0
    instances = []
    for ti in found.task_instances:
        if ti.state in UNKNOWN:
            unknown.append(_unknown(found, ti))
            ti = _failed(ti, now)
        elif ti.state in NOT_STARTED:
            if ti.state is not None and ti.state != "none":
                not_started += 1
            ti = _not_started(ti)
        elif ti.state in ("up_for_retry", "up_for_reschedule"):
            between += 1
        instances.append(ti)
    return Switched(replace(found, task_instances=instances), unknown, not_started, between)


def _not_started(ti: AirflowTaskInstance) -> AirflowTaskInstance:
    """``ti`` with no state, numbered by the tries that began before it: an instance
    scheduled or queued is at the try it waits to start (Airflow 2.10's number, read so from
    older releases), one with no state holds the tries begun (none, or those before it was
    cleared). They began whether or not Airflow kept their rows (before 2.10 it kept only an
    instance's latest), so Conveyor's next try is the one Airflow's would have been."""
    waiting = ti.state in ("scheduled", "queued")
    begun = max(ti.try_number - 1 if waiting else ti.try_number, 0)
    started = tuple(t for t in ti.tries if t.try_number <= begun and t.state not in NOT_STARTED)
    return replace(
        ti,
        state=None,
        try_number=max([begun, *(t.try_number for t in started)]),
        tries=started,
        start_date=None,
        end_date=None,
        queued_at=None,
        pid=None,
        reason=NOT_STARTED_REASON.format(state=ti.state) if ti.state else None,
    )


def _unknown(found: AirflowRun, ti: AirflowTaskInstance) -> UnknownTry:
    return UnknownTry(
        found.run_id,
        ti.task_id,
        ti.map_index,
        ti.try_number,
        str(ti.state),
        ti.hostname,
        ti.start_date,
    )


def _failed(ti: AirflowTaskInstance, now: datetime) -> AirflowTaskInstance:
    tries = tuple(
        replace(t, state="failed", end_date=None, duration=None)
        if t.try_number == ti.try_number
        else t
        for t in ti.tries
    )
    return replace(
        ti,
        state="failed",
        tries=tries,
        end_date=now,
        reason=UNKNOWN_REASON.format(state=ti.state),
    )
