"""A task reads a connection by Airflow 3's ``Connection.get`` (``airflow.sdk``) or Airflow
2's ``Connection.get_connection_from_secrets`` (``airflow.models``): the connection a try
sees (here from ``CONVEYOR_CONN_<ID>``); a missing one raises Airflow's
``AirflowNotFoundException``. A real team's folder reads its connections so at parse time.
``Variable.get`` and ``Variable.set`` take their arguments in Airflow's order, positional
too: ``Variable.get("cfg", {}, True)``."""

from __future__ import annotations

import pytest

from conveyor.states import TaskState
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
