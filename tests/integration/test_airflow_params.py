"""``Param``: typed DAG params, their defaults in ``params``, and the one conf check that
``conveyor dags trigger``, TriggerDagRunOperator and ``conveyor.testing`` apply as the REST
API does (tests/api/test_airflow_params_api.py): real scheduler, both backends, the CLI as a
subprocess."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from cli_processes import run_cli
from conveyor import DAG, Param, task
from conveyor.states import TaskState
from conveyor.store.engine import Store
from conveyor.store.tables import xcom
from conveyor.testing import run_dag
from run_env import Env, run_one, written_folder
from shared_dags import PARAMS_DAG


def test_a_run_gets_param_defaults_overridden_by_conf(tmp_path: Path, store: Store) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    env = Env(tmp_path, dags, store)
    (dags / "typed.py").write_text(PARAMS_DAG)
    env.sync()
    run_pk = env.trigger("typed", conf={"n": 9})
    env.run(run_pk)
    with store.read() as conn:
        value = conn.execute(select(xcom.c.value).where(xcom.c.run_pk == run_pk)).scalar_one()
    assert value == {"n": 9, "mode": "fast", "name": "x", "plain": 1.5}


def test_trigger_dagrun_operator_applies_the_same_check(tmp_path: Path, store: Store) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    env = Env(tmp_path, dags, store)
    (dags / "typed.py").write_text(PARAMS_DAG)
    env.write_dag(
        "caller.py",
        """
        from conveyor.operators.trigger_dagrun import TriggerDagRunOperator

        with DAG("caller", start_date=START):
            TriggerDagRunOperator(task_id="bad", trigger_dag_id="typed", conf={"n": 1.5})
            TriggerDagRunOperator(task_id="good", trigger_dag_id="typed", conf={"n": 2})
        """,
    )
    run_pk = run_one(env, "caller")
    states = env.states(run_pk)
    assert states == {"bad": TaskState.FAILED, "good": TaskState.SUCCESS}
    [bad_try] = env.tries(run_pk, "bad")  # Fail: no retry would help
    assert "conf.n" in bad_try.error and "integer" in bad_try.error


def test_testing_run_dag_refuses_bad_conf_and_a_bad_default_of_a_scheduled_dag() -> None:
    with DAG("t", params={"n": Param(2, type="integer", minimum=1)}) as d:

        @task
        def double(params=None):
            return params["n"] * 2

        double()
    with pytest.raises(ValueError, match=r"conf\.n: 1\.5 does not match its schema"):
        run_dag(d, conf={"n": 1.5})
    assert run_dag(d, conf={"n": 4}).xcom("double") == 8
    with pytest.raises(Exception, match="default of param 'n' \\(0\\) does not match"):
        DAG("bad", schedule="@daily", params={"n": Param(0, type="integer", minimum=1)})


def test_a_manual_dag_may_keep_a_default_its_trigger_must_replace() -> None:
    """As on Airflow, a DAG without a schedule may hold a default its schema refuses (a
    ``None`` for a date to fill in): it loads, and a run needs the param in its conf."""
    with DAG("manual", params={"since": Param(None, type="string", format="date")}) as d:

        @task
        def since(params=None):
            return params["since"]

        since()
    with pytest.raises(ValueError, match=r"conf\.since: param 'since' is not in the conf"):
        run_dag(d)
    assert run_dag(d, conf={"since": "2025-01-01"}).xcom("since") == "2025-01-01"


def test_cli_trigger_refuses_conf_the_web_refuses(tmp_path: Path) -> None:
    dags = written_folder(tmp_path, "typed.py", PARAMS_DAG)
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(tmp_path / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
    }

    def trigger(conf: str) -> subprocess.CompletedProcess[str]:
        return run_cli(env, "dags", "trigger", "typed", "--conf", conf)

    refused = trigger('{"n": 1.5}')
    assert refused.returncode == 1, refused.stdout
    assert "conf.n" in refused.stderr and "integer" in refused.stderr
    plain = trigger('{"plain": "text"}')  # a plain param: the default's type, as the web
    assert plain.returncode == 1 and "conf.plain" in plain.stderr
    one_off = run_cli(env, "run", str(dags / "typed.py"), "--conf", '{"n": 0}')
    assert one_off.returncode == 1 and "conf.n" in one_off.stderr and "minimum" in one_off.stderr
    accepted = trigger('{"n": 3}')
    assert accepted.returncode == 0, accepted.stderr
    assert "triggered typed run" in accepted.stdout
