"""What the import makes of the task instances Airflow left unfinished at the switch."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from conveyor.airflow_import.unfinished import at_switch
from conveyor.store.airflow_import.records import AirflowRun, AirflowTaskInstance, AirflowTry

NOW = datetime(2026, 1, 8, 3, 30, tzinfo=UTC)
BEGAN = datetime(2026, 1, 8, 1, tzinfo=UTC)


def a_try(number: int, state: str | None, ended: bool = True) -> AirflowTry:
    start = BEGAN + timedelta(minutes=number)
    end = start + timedelta(seconds=30) if ended else None
    return AirflowTry(number, state, start, end, 30.0 if ended else None, "worker-1", 7)


def an_instance(
    task_id: str, state: str | None, try_number: int, *tries: AirflowTry
) -> AirflowTaskInstance:
    return AirflowTaskInstance(
        task_id=task_id,
        map_index=-1,
        state=state,
        try_number=try_number,
        max_tries=2,
        pool="default_pool",
        pool_slots=1,
        queue="default",
        priority_weight=1,
        queued_at=BEGAN,
        start_date=tries[-1].start_date if tries else None,
        end_date=tries[-1].end_date if tries else None,
        hostname="worker-1",
        pid=7,
        heartbeat_at=None,
        note=None,
        rendered_map_index=None,
        tries=tries,
    )


def a_run(*instances: AirflowTaskInstance) -> AirflowRun:
    return AirflowRun(
        "d", "r", "manual", "running", BEGAN, BEGAN, BEGAN, BEGAN, BEGAN, BEGAN, None, {},
        None, None, list(instances),
    )  # fmt: skip


def test_a_started_try_is_failed_with_its_end_unknown_and_named() -> None:
    switched = at_switch(
        a_run(an_instance("t", "running", 2, a_try(1, "failed"), a_try(2, "running", ended=False))),
        NOW,
    )
    (ti,) = switched.run.task_instances
    assert (ti.state, ti.try_number, ti.end_date) == ("failed", 2, NOW)
    assert [(t.state, t.end_date) for t in ti.tries][1] == ("failed", None)
    assert ti.reason is not None and "outcome is unknown" in ti.reason
    assert [str(u) for u in switched.unknown] == [
        "r/t (try 2, running on worker-1 since 2026-01-08 01:02)"
    ]


def test_a_deferred_try_is_taken_as_started() -> None:
    switched = at_switch(
        a_run(an_instance("t", "deferred", 1, a_try(1, "deferred", ended=False))), NOW
    )
    assert switched.run.task_instances[0].state == "failed" and len(switched.unknown) == 1


def test_a_queued_try_never_begun_is_run_here_numbered_after_the_tries_that_began() -> None:
    queued = replace(an_instance("t", "queued", 2, a_try(1, "failed")), start_date=None)
    switched = at_switch(a_run(queued), NOW)
    (ti,) = switched.run.task_instances
    assert (ti.state, ti.try_number, [t.try_number for t in ti.tries]) == (None, 1, [1])
    assert (switched.not_started, switched.unknown) == (1, [])


def test_a_task_between_tries_and_a_finished_one_are_left_as_they_are() -> None:
    waiting = an_instance("w", "up_for_retry", 1, a_try(1, "failed"))
    done = an_instance("d", "success", 1, a_try(1, "success"))
    switched = at_switch(a_run(waiting, done), NOW)
    assert switched.run.task_instances == [waiting, done]
    assert switched.between_tries == 1


def test_an_instance_queued_for_a_later_try_keeps_the_number_of_the_tries_begun() -> None:
    """Before 2.10 Airflow kept no row of an instance's earlier tries: one queued for its
    third try (its number read as 2.10's) is still two tries in, and Conveyor runs the third."""
    queued = an_instance("t", "queued", 3)
    switched = at_switch(a_run(queued), NOW)
    (ti,) = switched.run.task_instances
    assert (ti.state, ti.try_number, ti.tries) == (None, 2, ())


def test_a_cleared_instance_keeps_its_tries_and_runs_the_next() -> None:
    """Cleared after its second try: from 2.10 the history kept both tries (the row holds
    the second's times under no state); before, only the row, whose try's outcome is gone."""
    kept = an_instance("t", None, 2, a_try(1, "failed"), a_try(2, "success"))
    row_only = an_instance("t", None, 2, a_try(2, None))
    for cleared, tries in ((kept, [1, 2]), (row_only, [])):
        (ti,) = at_switch(a_run(cleared), NOW).run.task_instances
        assert (ti.state, ti.try_number, [t.try_number for t in ti.tries]) == (None, 2, tries)
