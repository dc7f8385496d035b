"""``/api/v2/.../hitlDetails`` on both stores: a human-in-the-loop task run by the real
scheduler waits in ``awaiting_input``; its question is read (one instance, per try, per run
and across runs with ``~``), answered once (a bad option or two where one is allowed is a
400, a second answer a 409), by an editor of the DAG who is, when the task names assigned
users, one of them; the answer is audited and the run goes on with it."""

from __future__ import annotations

from typing import Any

from api_helpers import PASSWORDS, World, world_fixture_of
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import run_scheduler
from conveyor.states import RunState, TaskState
from conveyor.store import runs
from conveyor.store.tables import audit_log
from conveyor.web import accounts
from store_reads import returned

DAG = """\
from datetime import datetime

from airflow.sdk import DAG, Param, task
from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator

with DAG("asking", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    ask = HITLOperator(
        task_id="ask", subject="Which colours?", body="**pick**", options=["red", "blue"],
        params={"note": Param("none", type="string")},
    )
    approve = ApprovalOperator(
        task_id="approve", subject="Go?", assigned_users=[{"id": "alice", "name": "Alice"}],
    )

    @task
    def after(answer):
        return answer["chosen_options"]

    after(ask.output)
    approve >> task(lambda: "went", task_id="go")()
"""

world = world_fixture_of({"asking.py": DAG})

BASE = "/api/v2/dags/asking/dagRuns"


def _as(world: World, user: str, password: str | None = None) -> TestClient:
    token = world.client().post(
        "/auth/token", json={"username": user, "password": password or PASSWORDS[user]}
    )
    assert token.status_code == 201, token.text
    return world.token_client(token.json()["access_token"])


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _waiting_run(world: World) -> tuple[int, str]:
    run_pk = world.trigger("asking")

    def both_wait() -> bool:
        with world.store.read() as conn:
            states = {ti.task_id: ti.state for ti in runs.task_instances(conn, run_pk)}
        return states.get("ask") is states.get("approve") is TaskState.AWAITING_INPUT

    run_scheduler(world.settings, world.store, both_wait, limit=60, what="both tasks asking")
    return run_pk, world.run_id(run_pk)


def test_a_question_is_read_answered_once_and_the_run_goes_on(world: World) -> None:
    run_pk, run_id = _waiting_run(world)
    viewer, op = _as(world, "viewer"), _as(world, "op")
    one = f"{BASE}/{run_id}/taskInstances/ask/-1/hitlDetails"
    detail = _ok(viewer.get(one))
    assert detail["subject"] == "Which colours?" and detail["body"] == "**pick**"
    assert detail["options"] == ["red", "blue"] and detail["multiple"] is False
    assert detail["params"]["note"]["value"] == "none"
    assert detail["response_received"] is False and detail["chosen_options"] is None
    assert detail["task_instance"]["state"] == "awaiting_input"
    assert detail["task_instance"]["task_id"] == "ask"
    tried = _ok(viewer.get(one + "/tries/1"))
    assert tried["subject"] == "Which colours?" and tried["task_instance"]["try_number"] == 1
    assert viewer.get(one + "/tries/7").status_code == 404
    listed = _ok(viewer.get(f"{BASE}/{run_id}/hitlDetails"))
    assert listed["total_entries"] == 2
    assert {d["task_instance"]["task_id"] for d in listed["hitl_details"]} == {"ask", "approve"}
    everywhere = _ok(viewer.get("/api/v2/dags/~/dagRuns/~/hitlDetails"))
    assert everywhere["total_entries"] == 2
    pending = _ok(viewer.get(f"{BASE}/{run_id}/hitlDetails", params={"task_id": "ask"}))
    assert [d["task_instance"]["task_id"] for d in pending["hitl_details"]] == ["ask"]
    by_subject = _ok(viewer.get(f"{BASE}/~/hitlDetails", params={"subject_search": "colour"}))
    assert [d["subject"] for d in by_subject["hitl_details"]] == ["Which colours?"]
    ordered = _ok(viewer.get(f"{BASE}/~/hitlDetails", params={"order_by": "-subject"}))
    assert [d["subject"] for d in ordered["hitl_details"]] == ["Which colours?", "Go?"]
    paged = _ok(viewer.get(f"{BASE}/~/hitlDetails", params={"order_by": "subject", "limit": 1}))
    assert [d["subject"] for d in paged["hitl_details"]] == ["Go?"]
    assert paged["total_entries"] == 2
    unsorted = viewer.get(f"{BASE}/~/hitlDetails", params={"order_by": "colour"})
    assert unsorted.status_code == 400 and "colour" in unsorted.json()["detail"]

    # A viewer may read but not answer; bad answers are 400 and change nothing.
    assert viewer.patch(one, json={"chosen_options": ["red"]}).status_code == 403
    bad = op.patch(one, json={"chosen_options": ["green"]})
    assert bad.status_code == 400 and "green" in bad.json()["detail"]
    two = op.patch(one, json={"chosen_options": ["red", "blue"]})
    assert two.status_code == 400 and "single option" in two.json()["detail"]
    assert op.patch(one, json={"chosen_options": []}).status_code == 422

    answered = _ok(op.patch(one, json={"chosen_options": ["blue"], "params_input": {"note": "x"}}))
    assert answered["responded_by"] == {"id": "op", "name": "op"}
    assert answered["chosen_options"] == ["blue"]
    again = op.patch(one, json={"chosen_options": ["red"]})
    assert again.status_code == 409 and "already been updated" in again.json()["detail"]
    # Answered already comes before a bad option, as in Airflow; a viewer is refused first.
    assert op.patch(one, json={"chosen_options": ["green"]}).status_code == 409
    assert viewer.patch(one, json={"chosen_options": ["red"]}).status_code == 403
    after = _ok(viewer.get(one))
    assert after["response_received"] is True
    assert after["responded_by_user"] == {"id": "op", "name": "op"}
    assert after["params_input"] == {"note": "x"}
    answered_only = _ok(
        viewer.get(f"{BASE}/{run_id}/hitlDetails", params={"response_received": True})
    )
    assert [d["task_instance"]["task_id"] for d in answered_only["hitl_details"]] == ["ask"]
    with world.store.read() as conn:
        actions = list(
            conn.execute(
                select(audit_log.c.action).where(
                    audit_log.c.actor == "op", audit_log.c.action == "task.answer"
                )
            ).scalars()
        )
    assert actions == ["task.answer"]  # the refused ones left no entry

    # Only the assigned user answers the approval: not another editor.
    approve = f"{BASE}/{run_id}/taskInstances/approve/-1/hitlDetails"
    refused = op.patch(approve, json={"chosen_options": ["Approve"]})
    assert refused.status_code == 403 and "not a respondent" in refused.json()["detail"]
    accounts.create_user(world.store, "alice", "op", "alice-secret-1")
    accounts.create_user(world.store, "bob", "viewer", "bob-secret-123")
    bob = _as(world, "bob", "bob-secret-123")
    assert bob.patch(approve, json={"chosen_options": ["Approve"]}).status_code == 403
    alice = _as(world, "alice", "alice-secret-1")
    _ok(alice.patch(approve, json={"chosen_options": ["Approve"]}))

    world.run(run_pk)
    with world.store.read() as conn:
        assert runs.get_run(conn, run_pk).state is RunState.SUCCESS
    assert returned(world.store, run_pk, "after") == ["blue"]
    assert returned(world.store, run_pk, "go") == "went"


def test_unknown_instances_and_tasks_without_a_question_are_404(world: World) -> None:
    _run_pk, run_id = _waiting_run(world)
    viewer = _as(world, "viewer")
    missing = viewer.get(f"{BASE}/{run_id}/taskInstances/nope/-1/hitlDetails")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    # ``after`` has no question (it has not even run).
    none = viewer.get(f"{BASE}/{run_id}/taskInstances/after/-1/hitlDetails")
    assert none.status_code == 404 and "Human-in-the-loop detail" in none.json()["detail"]
    assert viewer.get(f"{BASE}/no-such-run/hitlDetails").json()["total_entries"] == 0
