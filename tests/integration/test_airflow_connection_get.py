"""A task reads a connection by Airflow 3's ``Connection.get`` (``airflow.sdk``) or Airflow
2's ``Connection.get_connection_from_secrets`` (``airflow.models``): the connection a try
sees (here from ``CONVEYOR_CONN_<ID>``); a missing one raises Airflow's
``AirflowNotFoundException``. A real team's folder reads its connections so at parse time."""

from __future__ import annotations

import pytest

from conveyor.states import TaskState
from run_env import Env
from store_reads import returned

READS = """
from airflow.exceptions import AirflowNotFoundException
from airflow.models import Connection as ModelsConnection
from airflow.sdk import Connection

with DAG("reads", start_date=START, schedule=None):

    @task
    def hosts():
        missing = None
        try:
            Connection.get("not_there")
        except AirflowNotFoundException as exc:
            missing = type(exc).__name__
        return [
            Connection.get("landing").host,
            ModelsConnection.get_connection_from_secrets("landing").port,
            missing,
        ]

    hosts()
"""


def test_connections_read_by_airflows_class_methods(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_CONN_LANDING", "postgres://someone:secret@db.example:6543/x")
    env.write_dag("reads.py", READS)
    env.sync()
    run = env.trigger("reads")
    env.run(run, limit=30)
    assert env.states(run) == {"hosts": TaskState.SUCCESS}, env.tries(run, "hosts")
    assert returned(env.store, run, "hosts") == ["db.example", 6543, "NotFoundError"]
