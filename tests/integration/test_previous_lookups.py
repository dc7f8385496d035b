"""A task's lookups of other runs, run by a real scheduler on both stores: the task SDK's
``get_previous_ti``, ``get_previous_dagrun`` and counts in an Airflow 3 file, Airflow 2's
``get_previous_ti``, ``get_previous_dagrun`` and ``get_previous_start_date`` in an Airflow 2
file, where ``state`` is the run's rather than the task instance's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conveyor.states import RunState
from run_env import Env
from store_reads import returned

START = datetime(2024, 1, 1, tzinfo=UTC)

# "look" succeeds in every run; "other" fails where the run's conf asks, failing the run: so
# the second run is failed while its "look" succeeded, which tells a run's state from the
# task instance's.
LOOKS = """
from datetime import datetime

@IMPORTS@


def _ids(found):
    return None if found is None else [found.run_id, found.state]


def _refusal(ask):
    try:
        ask()
    except TypeError as exc:
        return str(exc)
    return None


@task
def look(**context):
    ti = context["ti"]
    previous = ti.get_previous_ti()
    return {
        "n": context["dag_run"].conf["n"],
        "previous_ti": _ids(previous),
        "previous_ti_success": _ids(ti.get_previous_ti(state="success")),
        "previous_dagrun": _ids(ti.get_previous_dagrun()),
        "previous_dagrun_success": _ids(ti.get_previous_dagrun(state="success")),
        "its_value": None if previous is None else previous.xcom_pull()["n"],
        "previous_start": str(ti.get_previous_start_date()),
        "runs_failed": ti.get_dr_count(dag_id="@DAG_ID@", states=["failed"]),
        "index_refused": _refusal(lambda: ti.get_previous_ti(map_index=0)),
    }


@task
def other(**context):
    if context["dag_run"].conf.get("fail"):
        raise ValueError("asked to fail")


with DAG("@DAG_ID@", start_date=datetime(2024, 1, 1), schedule=None):
    look()
    other()
"""

SPELLINGS = {
    "looks_af3": "from airflow.sdk import DAG, task",
    "looks_af2": "from airflow import DAG\nfrom airflow.decorators import task",
}


def test_a_task_finds_its_previous_instance_and_run_as_each_airflow_did(env: Env) -> None:
    for dag_id, imports in SPELLINGS.items():
        body = LOOKS.replace("@IMPORTS@", imports).replace("@DAG_ID@", dag_id)
        env.write_dag(f"{dag_id}.py", body, header=False)
    env.sync()
    seen, refusals = {}, {}
    for dag_id in SPELLINGS:
        made = []
        for n, fail in ((1, False), (2, True), (3, False)):
            at = START + timedelta(days=n)
            made.append(env.trigger(dag_id, conf={"n": n, "fail": fail}, at=at))
            env.run(made[-1], limit=30)
        assert [env.run_state(pk) for pk in made] == [
            RunState.SUCCESS,
            RunState.FAILED,
            RunState.SUCCESS,
        ]
        runs = {r.id: r.run_id for r in env.dag_runs(dag_id)}
        first, second, _ = (runs[pk] for pk in made)
        first_look = returned(env.store, made[0], "look")
        third_look = returned(env.store, made[2], "look")
        seen[dag_id] = (third_look["previous_ti_success"], first, second)
        refusals[dag_id] = third_look["index_refused"]
        assert first_look["previous_ti"] is None and first_look["previous_dagrun"] is None
        assert first_look["its_value"] is None and first_look["previous_start"] == "None"
        assert third_look["previous_ti"] == [second, "success"]
        assert third_look["previous_dagrun"] == [second, "failed"]
        assert third_look["previous_dagrun_success"] == [first, "success"]
        assert third_look["its_value"] == 2  # pulled from the second run
        assert third_look["previous_start"] != "None"
        assert third_look["runs_failed"] == 1
    # Airflow 3: the state is the instance's: the second run's "look" succeeded.
    found, _, second = seen["looks_af3"]
    assert found == [second, "success"]
    assert refusals["looks_af3"] is None  # Airflow 3 takes map_index=
    assert "Airflow 2's takes state= only" in refusals["looks_af2"]
    # Airflow 2: the state is the run's: the second run failed, so the first is found.
    found, first, _ = seen["looks_af2"]
    assert found == [first, "success"]


LAST_RUN = """
from datetime import datetime

from airflow import DAG
from airflow.decorators import task
from airflow.models.dag import get_last_dagrun
from airflow.sdk import DAG as SdkDAG


@task
def last(**context):
    found = context["dag"].get_last_dagrun(include_externally_triggered=True)
    try:
        SdkDAG("not_registered", schedule=None).get_last_dagrun()
        refused = None
    except AttributeError as exc:
        refused = str(exc)
    return {
        "last": [found.run_id, found.get_state(), found.execution_date.isoformat()],
        "scheduled_last": context["dag"].get_last_dagrun(),
        "by_function": get_last_dagrun("last_run", None, True).run_id,
        "refused": refused,
    }


with DAG("last_run", start_date=datetime(2024, 1, 1), schedule=None):
    last()
"""


def test_an_airflow_2_dag_reads_its_last_run(env: Env) -> None:
    env.write_dag("last_run.py", LAST_RUN, header=False)
    env.sync()
    at = START + timedelta(days=3)
    run = env.trigger("last_run", at=at)
    env.run(run, limit=30)
    seen = returned(env.store, run, "last")
    run_id = env.dag_runs("last_run")[0].run_id
    assert seen["last"] == [run_id, "running", at.isoformat()]  # itself, while it runs
    assert seen["scheduled_last"] is None  # a triggered run counts only when asked
    assert seen["by_function"] == run_id
    assert "Airflow 3's DAG has no get_last_dagrun" in seen["refused"]
