"""A task reads a connection by Airflow 3's ``Connection.get`` (``airflow.sdk``) or Airflow
2's ``Connection.get_connection_from_secrets`` (``airflow.models``): the connection a try
sees (here from ``CONVEYOR_CONN_<ID>``); a missing one raises Airflow's
``AirflowNotFoundException``. A real team's folder reads its connections so at parse time.
``Variable.get`` and ``Variable.set`` take their arguments in Airflow's order, positional
too: ``Variable.get("cfg", {}, True)``."""

from __future__ import annotations

import pytest

from conveyor.states import TaskState
from conveyor.store import secrets
from conveyor.worker.runner import log_path_for
from run_env import Env
from store_reads import returned

READS = """
from airflow.exceptions import AirflowNotFoundException
from airflow.models import Connection as ModelsConnection, Variable
from airflow.sdk import Connection

with DAG("reads", start_date=START, schedule=None):

    @task
    def hosts():
        missing = None
        try:
            Connection.get("not_there")
        except AirflowNotFoundException as exc:
            missing = type(exc).__name__
        Variable.set("noted", {"n": 1}, "set with Airflow's argument order", True)
        return [
            Connection.get("landing").host,
            ModelsConnection.get_connection_from_secrets("landing").port,
            missing,
            Variable.get("cfg", {}, True),
            Variable.get("not_set", {"fallback": True}, True),
            Variable.get("noted", None, True),
        ]

    hosts()
"""


def test_connections_read_by_airflows_class_methods(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_CONN_LANDING", "postgres://someone:secret@db.example:6543/x")
    monkeypatch.setenv("CONVEYOR_VAR_CFG", '{"region": "eu"}')
    env.write_dag("reads.py", READS)
    env.sync()
    run = env.trigger("reads")
    env.run(run, limit=30)
    assert env.states(run) == {"hosts": TaskState.SUCCESS}, env.tries(run, "hosts")
    assert returned(env.store, run, "hosts") == [
        "db.example",
        6543,
        "NotFoundError",
        {"region": "eu"},
        {"fallback": True},
        {"n": 1},
    ]


EVERYDAY = """
import json

from airflow.hooks.base import BaseHook
from airflow.models import Connection, Variable

with DAG("everyday", start_date=START, schedule=None):

    @task
    def calls(**context):
        ti = context["ti"]
        ti.log.info("said through ti.log")
        landing = BaseHook.get_connection("landing")
        made = Connection(conn_id="made", uri="http://h.example:81/p?timeout=5")
        first = Variable.setdefault("limits", {"rows": 10}, "first use", deserialize_json=True)
        again = Variable.setdefault("limits", {"rows": 99}, deserialize_json=True)
        Variable.update("limits", {"rows": 20}, serialize_json=True)
        refused = []
        for key in ("never_set", "from_env"):
            try:
                Variable.update(key, "x")
            except (KeyError, AttributeError) as exc:
                refused.append(type(exc).__name__)
        Variable.set("count", 5)
        return {
            "extra": json.loads(landing.extra),
            "made": [made.host, made.port, made.extra_dejson],
            "hook": type(landing.get_hook()).__name__,
            "setdefault": [first, again],
            "updated": Variable.get("limits", deserialize_json=True),
            "stored": Variable.get("limits"),
            "refused": refused,
            "count": Variable.get("count"),
            "var_value": context["var"]["value"].get("from_env"),
        }

    calls()
"""


def test_everyday_airflow_calls_on_connections_variables_and_the_ti(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What DAG files call beside ``get``: ``json.loads(conn.extra)``, Airflow 2's
    ``Connection(conn_id=, uri=)``, ``conn.get_hook()``, ``Variable.setdefault`` and
    ``update`` (the description kept), a value stored as its ``str()``, JSON indented by two
    as Airflow writes it, ``ti.log`` into the try's log, ``context["var"]["value"]``."""
    monkeypatch.setenv("CONVEYOR_CONN_LANDING", "postgres://u:pw@db.example:6543/x?sslmode=require")
    monkeypatch.setenv("CONVEYOR_VAR_FROM_ENV", "env-value")
    env.write_dag("everyday.py", EVERYDAY)
    env.sync()
    run = env.trigger("everyday")
    env.run(run, limit=30)
    assert env.states(run) == {"calls": TaskState.SUCCESS}, env.tries(run, "calls")
    assert returned(env.store, run, "calls") == {
        "extra": {"sslmode": "require"},
        "made": ["h.example", 81, {"timeout": "5"}],
        "hook": "PostgresHook",
        "setdefault": [{"rows": 10}, {"rows": 10}],
        "updated": {"rows": 20},
        "stored": '{\n  "rows": 20\n}',
        "refused": ["VariableNotFoundError", "AttributeError"],
        "count": "5",
        "var_value": "env-value",
    }
    with env.store.read() as conn:
        assert secrets.get_variable(conn, "limits").description == "first use"
    dag_run = env.dag_runs("everyday")[0]
    log = log_path_for(env.settings(), "everyday", dag_run.run_id, "calls", 1).read_text()
    assert "said through ti.log" in log
