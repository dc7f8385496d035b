"""Give an Airflow metadata database a history, through Airflow's own models.

Run by scripts/make-airflow-fixture-dbs with the Airflow venv's Python, after the Airflow CLI
made the connections, variables, pools, users, roles, the DAGs' rows and the backfill. Each
run is made by the DAG's ``create_dagrun`` (as the scheduler, the API or a backfill makes
them) and its task instances given the states, dates and tries a worker would have left,
earlier tries recorded in ``task_instance_history`` as Airflow records them (2.10 and
later: before, Airflow kept only an instance's latest try).
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import airflow
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState, TaskInstanceState
from airflow.utils.types import DagRunType

V3 = airflow.__version__.startswith("3.")
# Before 2.10 Airflow had no task_instance_history, and an instance's try_number counted the
# tries that started: one queued for its next try still held the number of the one before.
BEFORE_2_10 = tuple(int(p) for p in airflow.__version__.split(".")[:2]) < (2, 10)
UTC = timezone.utc  # noqa: UP017 (Airflow 2.10's interpreter floor)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def the_dag(dag_id, session):
    from airflow.models.serialized_dag import SerializedDagModel

    if V3:
        return SerializedDagModel.get_dag(dag_id, session=session)
    from airflow.models.dagbag import DagBag

    return DagBag(read_dags_from_db=True).get_dag(dag_id, session=session)


def make_run(session, dag_id, run_type, logical, interval, state, *, run_id=None, conf=None):
    dag = the_dag(dag_id, session)
    if run_id is None and V3:  # as Airflow 3 names them: by run_after, an interval's end
        from airflow.models.dagrun import DagRun

        run_id = DagRun.generate_run_id(
            run_type=run_type, logical_date=logical, run_after=interval[1]
        )
    run_id = run_id or f"{run_type.value}__{logical.isoformat()}"
    common = {
        "run_id": run_id,
        "run_type": run_type,
        "data_interval": interval,
        "state": state,
        "conf": conf,
        "session": session,
    }
    if V3:  # who made the run: Airflow 3 records it
        from airflow.utils.types import DagRunTriggeredByType

        scheduled = run_type == DagRunType.SCHEDULED
        common["triggered_by"] = (
            DagRunTriggeredByType.TIMETABLE if scheduled else DagRunTriggeredByType.CLI
        )
    if V3:
        run = dag.create_dagrun(logical_date=logical, run_after=interval[1], **common)
    else:
        run = dag.create_dagrun(
            execution_date=logical, external_trigger=run_type != DagRunType.SCHEDULED, **common
        )
    run.start_date = interval[1] + timedelta(seconds=5)
    run.end_date = run.start_date + timedelta(minutes=2)
    session.flush()
    return run


def finish(session, run, outcomes):
    """Each task instance's tries: ``outcomes[task_id]`` lists the states of its tries."""
    started = run.start_date
    for ti in sorted(run.get_task_instances(session=session), key=lambda t: t.task_id):
        states = outcomes.get(ti.task_id, ["success"])
        for number, state in enumerate(states, start=1):
            ti.try_number = number
            ti.state = TaskInstanceState(state)
            ti.start_date = started + timedelta(seconds=10 * number)
            ti.end_date = ti.start_date + timedelta(seconds=3 + number)
            ti.duration = (ti.end_date - ti.start_date).total_seconds()
            ti.hostname = "airflow-worker-1"
            ti.queued_dttm = ti.start_date - timedelta(seconds=1)
            session.flush()
            if number < len(states) and not BEFORE_2_10:
                from airflow.models.taskinstancehistory import TaskInstanceHistory

                TaskInstanceHistory.record_ti(ti, session=session)
        started = ti.end_date
    session.flush()


def left_midway(session):
    """The switch came while a run of ``midway`` ran (``second`` running, ``side`` waiting
    for its retry, ``waiting`` handed to the executor but not started) and another was
    queued."""
    start = at("2026-01-07T20:00:00")
    run = make_run(
        session,
        "midway",
        DagRunType.MANUAL,
        start,
        (start, start),
        DagRunState.RUNNING,
        run_id="left_running",
    )
    run.end_date = None
    tis = {ti.task_id: ti for ti in run.get_task_instances(session=session)}
    began = start + timedelta(minutes=1)
    for task_id, state, tries in (
        ("first", "success", 1),
        ("second", "running", 1),
        ("side", "up_for_retry", 1),
        # Queued for its first try: 2.10 numbered it when it was scheduled, 2.9 counts none.
        ("waiting", "queued", 0 if BEFORE_2_10 else 1),
    ):
        ti = tis[task_id]
        ti.state = TaskInstanceState(state)
        ti.try_number = tries
        ti.queued_dttm = began
        ti.hostname = "airflow-worker-1"
        if state != "queued":
            ti.start_date = began + timedelta(seconds=5)
            ti.pid = 4242
        if state in ("success", "up_for_retry"):
            ti.end_date = ti.start_date + timedelta(seconds=30)
            ti.duration = 30.0
        if state == "running" and V3:
            ti.last_heartbeat_at = at("2026-01-08T03:00:00")
    queued = make_run(
        session,
        "midway",
        DagRunType.MANUAL,
        at("2026-01-08T03:00:00"),
        (at("2026-01-08T03:00:00"), at("2026-01-08T03:00:00")),
        DagRunState.QUEUED,
        run_id="left_queued",
    )
    queued.start_date = queued.end_date = None
    session.flush()


def asset_history(session):
    """``on_demand`` updated both assets, ``consumer`` ran on those events, then ``on_demand``
    updated orders once more: that event waits in the queue for customers' next one."""
    if V3:
        from airflow.assets.manager import AssetManager
        from airflow.models.asset import AssetModel as Model

        def changed(ti, uri):
            model = session.query(Model).filter(Model.uri == uri).one()
            return AssetManager.register_asset_change(
                task_instance=ti, asset=model, session=session
            )

        triggered = DagRunType.ASSET_TRIGGERED
    else:
        from airflow.datasets import Dataset
        from airflow.datasets.manager import dataset_manager

        def changed(ti, uri):
            from airflow.models.dataset import DatasetEvent, DatasetModel

            event = dataset_manager.register_dataset_change(
                task_instance=ti, dataset=Dataset(uri), session=session
            )
            if event is None:  # Airflow 2.8 returns nothing: its newest event of the dataset
                session.flush()
                event = (
                    session.query(DatasetEvent)
                    .join(DatasetModel, DatasetModel.id == DatasetEvent.dataset_id)
                    .filter(DatasetModel.uri == uri)
                    .order_by(DatasetEvent.id.desc())
                    .first()
                )
            return event

        triggered = DagRunType.DATASET_TRIGGERED

    def publish(day, uris):
        """A run of ``on_demand`` whose task updated ``uris`` a minute after it began."""
        start = at(day)
        run = make_run(
            session,
            "on_demand",
            DagRunType.MANUAL,
            start,
            (start, start),
            DagRunState.SUCCESS,
            run_id=f"publish_{day}",
        )
        finish(session, run, {})
        (ti,) = run.get_task_instances(session=session)
        events = [changed(ti, uri) for uri in uris]
        for event in events:  # Airflow stamps them with the clock: the facts need fixed times
            event.timestamp = start + timedelta(minutes=1)
        session.flush()
        session.query(Queue).update({Queue.created_at: start + timedelta(minutes=1, seconds=1)})
        return events

    if V3:
        from airflow.models.asset import AssetDagRunQueue as Queue
    else:
        from airflow.models.dataset import DatasetDagRunQueue as Queue
    events = publish("2026-01-06", ["s3://lake/orders", "s3://lake/customers"])
    used = at("2026-01-06T00:05:00")
    run = make_run(
        session,
        "consumer",
        triggered,
        used,
        (used, used),
        DagRunState.SUCCESS,
        run_id="asset_triggered_jan6",
    )
    if V3:
        run.consumed_asset_events.extend(events)
    else:
        run.consumed_dataset_events.extend(events)
    session.query(Queue).filter(Queue.target_dag_id == "consumer").delete()
    finish(session, run, {})
    publish("2026-01-07", ["s3://lake/orders"])
    session.flush()


def trim(session):
    """Empty what the import never reads and gzip does not shrink much: the CLI's log, each
    DAG's copy of the DAG file and its serialized form (the files stay under 40 KB)."""
    from sqlalchemy import text

    session.execute(text("DELETE FROM log"))
    session.execute(text("UPDATE dag_code SET source_code = ''"))
    session.execute(text("UPDATE serialized_dag SET data = '{}', data_compressed = NULL"))


def zero_length_runs(session):
    """``@once``'s one run; on Airflow 3, a manual run asked for without a logical date."""
    start = at("2026-01-02")
    run = make_run(
        session, "once_only", DagRunType.SCHEDULED, start, (start, start), DagRunState.SUCCESS
    )
    finish(session, run, {})
    if V3:
        from airflow.utils.types import DagRunTriggeredByType

        after = at("2026-01-07T09:00:00")
        dag = the_dag("on_demand", session)
        run = dag.create_dagrun(
            run_id="manual_without_date",
            logical_date=None,
            run_after=after,
            data_interval=None,
            run_type=DagRunType.MANUAL,
            state=DagRunState.SUCCESS,
            triggered_by=DagRunTriggeredByType.UI,
            session=session,
        )
        run.start_date = after + timedelta(seconds=5)
        run.end_date = run.start_date + timedelta(minutes=1)
        finish(session, run, {})


def main() -> None:
    if not V3:  # Airflow 2's notes name their user in FAB's table: its model must be known
        try:
            import airflow.providers.fab.auth_manager.models  # noqa: F401
        except ModuleNotFoundError:  # Airflow 2.8 kept FAB inside itself
            import airflow.auth.managers.fab.models  # noqa: F401

    with create_session() as session:
        from airflow.models.variable import Variable

        # Airflow 2.7's CLI sets no description: the one the other releases' CLI gave.
        region = session.query(Variable).filter(Variable.key == "region").one()
        region.description = region.description or "where the data lives"
        # The backfill of two days before the schedule's first run (made by the CLI on 3.x).
        if not V3:
            for day in ("2025-12-30", "2025-12-31"):
                start = at(day)
                make_run(
                    session,
                    "daily_catchup",
                    DagRunType.BACKFILL_JOB,
                    start,
                    (start, start + DAY),
                    DagRunState.SUCCESS,
                )
        from airflow.models.dagrun import DagRun

        for run in session.query(DagRun).filter(DagRun.run_type == DagRunType.BACKFILL_JOB):
            run.state = DagRunState.SUCCESS
            run.start_date = run.data_interval_end + timedelta(minutes=1)
            run.end_date = run.start_date + timedelta(minutes=1)
            finish(session, run, {})
        # Five scheduled days; the third failed its load twice.
        for offset in range(5):
            start = at("2026-01-01") + offset * DAY
            failed = offset == 2
            state = DagRunState.FAILED if failed else DagRunState.SUCCESS
            run = make_run(
                session, "daily_catchup", DagRunType.SCHEDULED, start, (start, start + DAY), state
            )
            finish(session, run, {"load": ["failed", "failed"]} if failed else {})
            if failed:
                run.note = "vendor file missing; rerun by hand"
                for ti in run.get_task_instances(session=session):
                    if ti.task_id == "load":
                        ti.note = "vendor feed late"
        # A manual rerun with conf.
        run = make_run(
            session,
            "daily_catchup",
            DagRunType.MANUAL,
            at("2026-01-04T12:00:00"),
            (at("2026-01-03"), at("2026-01-04")),
            DagRunState.SUCCESS,
            run_id="manual_rerun_jan3",
            conf={"reason": "late file", "day": 3},
        )
        finish(session, run, {})
        # The hourly DAG ran its last three hours (no catchup).
        for hour in ("08", "09", "10"):
            start = at(f"2026-01-05T{hour}:00:00")
            run = make_run(
                session,
                "hourly_latest",
                DagRunType.SCHEDULED,
                start,
                (start, start + HOUR),
                DagRunState.SUCCESS,
            )
            finish(session, run, {})
        left_midway(session)
        asset_history(session)
        zero_length_runs(session)
        trim(session)
    print("history made", file=sys.stderr)


if __name__ == "__main__":
    main()
