"""Helpers of Airflow's core that DAG files and tasks call, run by a real scheduler on both
stores: a file that builds only the DAG ``get_parsing_context()`` names (every DAG at parse,
the try's own in the process that runs it), a branch of a team's own on
``BaseBranchOperator`` that follows a task group by its id, and ``mask_secret``, ``Stats``,
``timeout`` and ``poke_mode_only`` inside tasks, the try's ``AIRFLOW_CTX_*`` ids in its
environment, and ``SkipMixin``'s calls ending an Airflow 3 file's ``execute`` (Airflow 2's go
on)."""

from __future__ import annotations

from sqlalchemy import select

from conveyor.states import TaskState
from conveyor.store.tables import dag
from conveyor.worker.runner import log_path_for
from run_env import Env
from store_reads import returned

GENERATED = """
from airflow.sdk import get_parsing_context

WANTED = get_parsing_context()
BUILT = []

for name in ("gen_a", "gen_b", "gen_c"):
    if WANTED.dag_id is not None and WANTED.dag_id != name:
        continue  # a worker's import builds the try's DAG only
    BUILT.append(name)
    with DAG(name, start_date=START, schedule=None):

        @task
        def seen():
            return [WANTED.dag_id, WANTED.task_id, list(BUILT)]

        seen()
"""

BRANCHES = """
from airflow.operators.branch import BaseBranchOperator
from airflow.operators.empty import EmptyOperator
from airflow.utils.task_group import TaskGroup


class ByConf(BaseBranchOperator):
    def choose_branch(self, context):
        return context["dag_run"].conf.get("go", "cleanup")


with DAG("own_branch", start_date=START, schedule=None):
    pick = ByConf(task_id="pick")
    with TaskGroup("load") as load:
        first = EmptyOperator(task_id="first")
        then = EmptyOperator(task_id="then")
        first >> then
    cleanup = EmptyOperator(task_id="cleanup")
    pick >> [load, cleanup]
"""

HELPERS = """
import time as clock

from airflow.exceptions import AirflowTaskTimeout
from airflow.sensors.base import BaseSensorOperator, poke_mode_only
from airflow.stats import Stats
from airflow.utils.log.secrets_masker import mask_secret
from airflow.utils.timeout import timeout


@poke_mode_only
class Ready(BaseSensorOperator):
    def poke(self, context):
        return True


with DAG("helpers", start_date=START, schedule=None):

    @task
    def careful():
        mask_secret("s3cr3t-token-value")
        mask_secret({"user": "visible-user", "password": "hidden-pass"})
        print("token s3cr3t-token-value for visible-user with hidden-pass")
        Stats.incr("team.rows_loaded", 3)
        with Stats.timer("team.step"):
            pass
        try:
            with timeout(0.2, "the step took too long"):
                clock.sleep(5)
        except AirflowTaskTimeout as exc:
            stopped = str(exc).split(",")[0]
        try:
            Ready(task_id="again", mode="reschedule")
        except ValueError as exc:
            refused = str(exc)
        later = Ready(task_id="later")
        try:
            later.mode = "reschedule"  # set after it was built: refused as well
        except ValueError as exc:
            refused_later = str(exc)
        return [stopped, refused, refused_later, later.mode]

    @task
    def environment():
        return {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW_CTX_")}

    careful() >> Ready(task_id="ready") >> environment()
    BashOperator(
        task_id="ids",
        bash_command='echo "$AIRFLOW_CTX_DAG_ID/$AIRFLOW_CTX_TASK_ID/$AIRFLOW_CTX_TRY_NUMBER/$X"',
        env={"X": "own"},
    )
"""


RESUMABLE = """
import json

from airflow.sdk import BaseOperator, ResumableJobMixin

JOBS = Path("@TMP@") / "jobs.json"


class LongJob(ResumableJobMixin, BaseOperator):
    external_id_key = "job_id"

    def execute(self, context):
        return self.execute_resumable(context)

    def submit_job(self, context):
        jobs = json.loads(JOBS.read_text()) if JOBS.exists() else {}
        job_id = f"job-{len(jobs) + 1}"
        JOBS.write_text(json.dumps({**jobs, job_id: "RUNNING"}))
        return job_id

    def get_job_status(self, external_id, context):
        return json.loads(JOBS.read_text())[external_id]

    def is_job_active(self, status):
        return status == "RUNNING"

    def is_job_succeeded(self, status):
        return status == "SUCCEEDED"

    def poll_until_complete(self, external_id, context):
        if context["ti"].try_number == 1:
            raise RuntimeError("the worker lost its connection while polling")
        JOBS.write_text(json.dumps({external_id: "SUCCEEDED"}))
        return f"polled {external_id}"

    def get_job_result(self, external_id, context):
        return f"result of {external_id}"


with DAG("resumable", start_date=START, schedule=None):
    LongJob(task_id="long", retries=1, retry_delay=timedelta(0))
"""


# The same operators in each generation's spelling; "@WENT_ON@" is the file each writes if its
# execute goes on after the skip call.
OWN_SKIPS = """
class SkipB(BaseOperator, SkipMixin):
    def execute(self, context):
        self.skip(context["ti"], [t for t in self.downstream_list if t.task_id == "b"])
        Path("@WENT_ON@").write_text("went on")
        return "after the skip"


class SkipNothing(BaseOperator, SkipMixin):
    def execute(self, context):
        self.skip(context["ti"], [])
        return "kept"


class BranchLast(BaseOperator, BranchMixIn):  # the mix-in after BaseOperator, as teams write it
    def execute(self, context):
        return self.do_branch(context, "c")


with DAG("@DAG_ID@", start_date=datetime(2024, 1, 1), schedule=None):
    SkipB(task_id="first") >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    SkipNothing(task_id="nothing") >> EmptyOperator(task_id="e")
    BranchLast(task_id="pick") >> [EmptyOperator(task_id="c"), EmptyOperator(task_id="d")]
"""

SPELLINGS = {
    "skips_af3": (
        "from airflow.sdk import DAG, BaseOperator, BranchMixIn, SkipMixin\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
    ),
    "skips_af2": (
        "from airflow import DAG\n"
        "from airflow.models import BaseOperator, SkipMixin\n"
        "from airflow.operators.branch import BranchMixIn\n"
        "from airflow.operators.empty import EmptyOperator\n"
    ),
}


RAISED_SKIPS = """
from datetime import datetime

from airflow.exceptions import DownstreamTasksSkipped
from airflow.sdk import DAG, BaseOperator
from airflow.providers.standard.operators.empty import EmptyOperator


class SkipsByRaising(BaseOperator):
    def execute(self, context):
        raise DownstreamTasksSkipped(tasks=[("h", -1)])


with DAG("skips_raised", start_date=datetime(2024, 1, 1), schedule=None):
    SkipsByRaising(task_id="ends") >> [EmptyOperator(task_id="g"), EmptyOperator(task_id="h")]
"""


def test_skip_calls_end_an_airflow_3_execute_and_let_airflow_2s_go_on(env: Env) -> None:
    for dag_id, imports in SPELLINGS.items():
        body = OWN_SKIPS.replace("@DAG_ID@", dag_id)
        body = body.replace("@WENT_ON@", str(env.tmp / f"{dag_id}.went_on"))
        head = "from datetime import datetime\nfrom pathlib import Path\n" + imports
        env.write_dag(f"{dag_id}.py", head + body, header=False)
    env.sync()
    ended = {}
    for dag_id in SPELLINGS:
        run = env.trigger(dag_id)
        env.run(run, limit=30)
        assert env.states(run) == {
            "first": TaskState.SUCCESS,
            "a": TaskState.SUCCESS,
            "b": TaskState.SKIPPED,
            "nothing": TaskState.SUCCESS,
            "e": TaskState.SUCCESS,
            "pick": TaskState.SUCCESS,
            "c": TaskState.SUCCESS,
            "d": TaskState.SKIPPED,
        }, dag_id
        ended[dag_id] = {
            t: returned(env.store, run, t, kept=False) for t in ("first", "nothing", "pick")
        }
    # Airflow 3: the skip ends execute, and no value is kept; a skip of nothing goes on.
    assert not (env.tmp / "skips_af3.went_on").exists()
    assert ended["skips_af3"] == {"first": None, "nothing": "kept", "pick": None}
    # Raised by the task's own code, as Airflow 3's SkipMixin raises it: the same end.
    env.write_dag("skips_raised.py", RAISED_SKIPS, header=False)
    env.sync()
    raised = env.trigger("skips_raised")
    env.run(raised, limit=30)
    assert env.states(raised) == {
        "ends": TaskState.SUCCESS,
        "g": TaskState.SUCCESS,
        "h": TaskState.SKIPPED,
    }
    # Airflow 2: execute goes on after its skip calls, and its return value is kept.
    assert (env.tmp / "skips_af2.went_on").read_text() == "went on"
    assert ended["skips_af2"] == {"first": "after the skip", "nothing": "kept", "pick": "c"}


def test_a_resumable_job_is_reconnected_to_on_the_next_try(env: Env) -> None:
    env.write_dag("resumable.py", RESUMABLE)
    env.sync()
    run = env.trigger("resumable")
    env.run(run, limit=30)
    assert env.states(run) == {"long": TaskState.SUCCESS}, env.tries(run, "long")
    assert len(env.tries(run, "long")) == 2
    # One job submitted; the second try polled it again (and gives what the poll gave).
    assert (env.tmp / "jobs.json").read_text() == '{"job-1": "SUCCEEDED"}'
    assert returned(env.store, run, "long") == "polled job-1"


def test_a_file_builds_only_the_dag_a_try_runs(env: Env) -> None:
    env.write_dag("generated.py", GENERATED)
    env.sync()
    with env.store.read() as conn:
        parsed = set(conn.execute(select(dag.c.dag_id)).scalars())
    assert {"gen_a", "gen_b", "gen_c"} <= parsed  # the parse built every DAG
    run = env.trigger("gen_b")
    env.run(run, limit=30)
    assert env.states(run) == {"seen": TaskState.SUCCESS}, env.tries(run, "seen")
    assert returned(env.store, run, "seen") == ["gen_b", None, ["gen_b"]]


def test_a_teams_branch_follows_a_task_group_by_its_id(env: Env) -> None:
    env.write_dag("own_branch.py", BRANCHES)
    env.sync()
    into_group = env.trigger("own_branch", conf={"go": "load"})
    env.run(into_group, limit=30)
    assert env.states(into_group) == {
        "pick": TaskState.SUCCESS,
        "load.first": TaskState.SUCCESS,
        "load.then": TaskState.SUCCESS,
        "cleanup": TaskState.SKIPPED,
    }
    by_default = env.trigger("own_branch")
    env.run(by_default, limit=30)
    assert env.states(by_default)["load.first"] == TaskState.SKIPPED
    assert env.states(by_default)["cleanup"] == TaskState.SUCCESS


def test_masking_metrics_timeouts_and_poke_only_sensors_inside_tasks(env: Env) -> None:
    env.write_dag("helpers.py", HELPERS)
    env.sync()
    run = env.trigger("helpers")
    env.run(run, limit=30)
    assert set(env.states(run).values()) == {TaskState.SUCCESS}, env.tries(run, "careful")
    stopped, refused, refused_later, mode = returned(env.store, run, "careful")
    assert stopped == "the step took too long"
    assert "poke-only" in refused
    assert refused_later == "cannot set mode to 'reschedule': Ready is a poke-only sensor"
    assert mode == "poke"
    run_id = env.dag_runs("helpers")[0].run_id
    log = log_path_for(env.settings(), "helpers", run_id, "careful", 1).read_text()
    assert "token *** for visible-user with ***" in log
    assert "s3cr3t" not in log and "hidden-pass" not in log
    # The try's ids are in its environment while it runs, as Airflow exports them, and go to
    # a BashOperator's command even with an env of its own.
    seen = returned(env.store, run, "environment")
    assert seen["AIRFLOW_CTX_DAG_ID"] == "helpers" and seen["AIRFLOW_CTX_TASK_ID"] == "environment"
    assert seen["AIRFLOW_CTX_DAG_RUN_ID"] == run_id and seen["AIRFLOW_CTX_TRY_NUMBER"] == "1"
    assert returned(env.store, run, "ids") == "helpers/ids/1/own"
