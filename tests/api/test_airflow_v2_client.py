"""Airflow's own Python client (``apache-airflow-client``) against a running Conveyor.

``conveyor standalone`` (web app, scheduler, local executor) runs once per store and module;
the client gets a token from ``POST /auth/token`` and then does what a CI job or a service
does with Airflow: list and unpause DAGs, trigger with conf, follow the run to its end, read
task instances, tries, logs and XComs, clear a task and see it run again. Each step fails if
the client cannot do it (the client checks every answer against Airflow's models).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from airflow_client.client.api.dag_api import DAGApi
from airflow_client.client.api.dag_run_api import DagRunApi
from airflow_client.client.api.task_instance_api import TaskInstanceApi
from airflow_client.client.api.x_com_api import XComApi
from airflow_client.client.exceptions import ApiException
from airflow_client.client.models import (
    ClearTaskInstancesBody,
    ClearTaskInstancesBodyTaskIdsInner,
    DAGPatchBody,
    DAGRunPatchBody,
    DAGRunsBatchBody,
    TriggerDAGRunPostBody,
)
from airflow_client_servers import STORES, Server, standalone, wait_for

from cli_processes import cli_env

PASSWORD = "op-password-123"

REPORT = """
from conveyor import DAG, BashOperator, task

with DAG("report", tags=["reports"], description="a report for a region"):
    @task
    def extract():
        return {"rows": 42}

    @task
    def count(data):
        print("counted", data["rows"])
        return data["rows"]

    publish = BashOperator(
        task_id="publish", bash_command="echo publishing for region={{ dag_run.conf['region'] }}"
    )
    count(extract()) >> publish
"""


@pytest.fixture(scope="module", params=STORES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("airflow-client")
    env = cli_env(tmp, CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION="true")
    (Path(env["CONVEYOR_DAGS_FOLDER"]) / "report.py").write_text(textwrap.dedent(REPORT))
    with standalone(request, tmp, env, user=("ci", "op", PASSWORD), first_dag="report") as found:
        yield found


def _finished_run(server: Server, run_id: str) -> Any:
    runs = DagRunApi(server.api)

    def done() -> Any:
        run = runs.get_dag_run("report", run_id)
        return run if run.state in ("success", "failed") else None

    return wait_for(f"run {run_id} ends", done)


def test_a_ci_job_unpauses_triggers_and_follows_a_run(server: Server) -> None:
    dags = DAGApi(server.api)
    listed = dags.get_dags(tags=["reports"])
    assert [d.dag_id for d in listed.dags] == ["report"] and listed.total_entries == 1
    assert listed.dags[0].is_paused is True
    assert dags.patch_dag("report", DAGPatchBody(is_paused=False)).is_paused is False
    details = dags.get_dag_details("report")
    assert details.description == "a report for a region" and details.is_paused is False

    runs = DagRunApi(server.api)
    made = runs.trigger_dag_run(
        "report",
        TriggerDAGRunPostBody(
            dag_run_id="deploy-1", conf={"region": "emea"}, logical_date=None, note="after deploy"
        ),
    )
    assert made.dag_run_id == "deploy-1" and made.conf == {"region": "emea"}
    assert made.run_type == "manual" and made.triggering_user_name == "ci"
    # What a deploy script does next: wait on the run's stream of states to its end.
    with httpx.stream(
        "GET",
        f"{server.url}/api/v2/dags/report/dagRuns/deploy-1/wait",
        params={"interval": 0.2, "result": "count"},
        headers={"Authorization": f"Bearer {server.api.configuration.access_token}"},
        timeout=90,
    ) as waited:
        assert waited.status_code == 200
        lines = [json.loads(line) for line in waited.iter_lines() if line]
    assert lines[-1] == {"state": "success", "results": {"count": 42}}
    assert all(line["state"] in ("queued", "running") for line in lines[:-1])
    finished = _finished_run(server, "deploy-1")
    assert finished.state == "success" and finished.note == "after deploy"
    assert finished.end_date is not None and finished.duration is not None

    every = runs.get_dag_runs("~", state=["success"])
    assert "deploy-1" in [r.dag_run_id for r in every.dag_runs]
    batch = runs.get_list_dag_runs_batch("~", DAGRunsBatchBody(dag_ids=["report"]))
    assert [r.dag_run_id for r in batch.dag_runs] == ["deploy-1"]


def test_task_instances_tries_logs_and_xcoms(server: Server) -> None:
    _finished_run(server, "deploy-1")
    tis = TaskInstanceApi(server.api)
    listed = tis.get_task_instances("report", "deploy-1", order_by=["task_id"])
    assert [(t.task_id, t.state, t.try_number) for t in listed.task_instances] == [
        ("count", "success", 1),
        ("extract", "success", 1),
        ("publish", "success", 1),
    ]
    one = tis.get_task_instance("report", "deploy-1", "publish")
    assert one.operator == "BashOperator" and one.dag_run_id == "deploy-1"
    assert one.rendered_fields["bash_command"] == "echo publishing for region=emea"
    tries = tis.get_task_instance_tries("report", "deploy-1", "publish")
    assert [t.try_number for t in tries.task_instances] == [1]
    assert tis.get_task_instance_try_details("report", "deploy-1", "publish", 1).state == "success"
    log = tis.get_log("report", "deploy-1", "publish", 1, full_content=True)
    events = log.content.actual_instance
    assert any("publishing for region=emea" in e.event for e in events)
    across = tis.get_task_instances("~", "~", state=["success"])
    assert across.total_entries >= 3

    xcoms = XComApi(server.api)
    entries = xcoms.get_xcom_entries("report", "deploy-1", "extract")
    assert [e.key for e in entries.xcom_entries] == ["return_value"]
    value = xcoms.get_xcom_entry(
        dag_id="report", dag_run_id="deploy-1", task_id="extract", xcom_key="return_value"
    )
    assert value.actual_instance.value == {"rows": 42}


def test_clearing_a_task_runs_it_again(server: Server) -> None:
    _finished_run(server, "deploy-1")
    tis = TaskInstanceApi(server.api)
    preview = tis.post_clear_task_instances(
        "report",
        ClearTaskInstancesBody(
            dag_run_id="deploy-1",
            task_ids=[ClearTaskInstancesBodyTaskIdsInner("publish")],
            only_failed=False,
        ),
    )
    assert [t.task_id for t in preview.task_instances] == ["publish"]  # dry_run by default
    assert tis.get_task_instance("report", "deploy-1", "publish").try_number == 1
    cleared = tis.post_clear_task_instances(
        "report",
        ClearTaskInstancesBody(
            dag_run_id="deploy-1",
            task_ids=[ClearTaskInstancesBodyTaskIdsInner("publish")],
            only_failed=False,
            dry_run=False,
        ),
    )
    assert [t.task_id for t in cleared.task_instances] == ["publish"]

    def ran_again() -> Any:
        found = tis.get_task_instance("report", "deploy-1", "publish")
        return found if found.try_number == 2 and found.state == "success" else None

    wait_for("the cleared task runs again", ran_again)
    tries = tis.get_task_instance_tries("report", "deploy-1", "publish")
    assert [t.try_number for t in tries.task_instances] == [1, 2]
    assert _finished_run(server, "deploy-1").state == "success"


def test_marking_and_refusals_come_back_as_the_client_expects(server: Server) -> None:
    runs = DagRunApi(server.api)
    _finished_run(server, "deploy-1")
    noted = runs.patch_dag_run("report", "deploy-1", DAGRunPatchBody(note="checked"))
    assert noted.note == "checked"
    with pytest.raises(ApiException) as again:
        runs.trigger_dag_run(
            "report", TriggerDAGRunPostBody(dag_run_id="deploy-1", logical_date=None)
        )
    assert again.value.status == 409
    with pytest.raises(ApiException) as missing:
        runs.get_dag_run("report", "no-such-run")
    assert missing.value.status == 404
