"""Answering a human-in-the-loop task on the Required actions page, in a real browser
(Debian's chromium driven by Playwright) against a real ``conveyor scheduler`` and
``conveyor web``: an approval waits in ``awaiting_input``; an op sees its question on the
page, chooses "Approve" and answers; the run goes on and the task after it runs. A viewer
sees the question but no Answer button.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, sign_in

ui_servers.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(240)

WAIT_MS = 30_000
_numbers = itertools.count(1)

APPROVAL_DAG = """\
from datetime import datetime

from airflow.sdk import DAG, task
from airflow.providers.standard.operators.hitl import ApprovalOperator

with DAG(
    "release_gate", start_date=datetime(2024, 1, 1), schedule=None, catchup=False,
    is_paused_upon_creation=False,
):
    gate = ApprovalOperator(task_id="gate", subject="Release {{ dag_run.run_id }}?",
                            body="Checks passed.")

    @task
    def release():
        return "released"

    gate >> release()
"""

browser = ui_servers.browser_fixture()
conveyor = ui_servers.servers_fixture()
page = ui_servers.page_fixture()


def poll(condition: Callable[[], bool], what: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {limit:g}s")
        time.sleep(0.2)


def waiting_run(page: Page, servers: Conveyor) -> str:
    """A run of release_gate whose gate awaits an answer; its run id."""
    path = servers.dags_folder / "release_gate.py"
    if not path.exists():
        path.write_text(APPROVAL_DAG)
    poll(lambda: "release_gate" in servers.cli("dags", "list").stdout, "release_gate parsed")
    run_id = f"gate_{next(_numbers)}"
    servers.cli("dags", "trigger", "release_gate", "--run-id", run_id)
    api = f"{servers.url}/api/v2/dags/release_gate/dagRuns/{run_id}/taskInstances/gate"

    def asked() -> bool:
        found = page.request.get(api)
        return found.ok and found.json()["state"] == "awaiting_input"

    poll(asked, "the gate awaiting input")
    return run_id


def test_an_op_approves_on_the_required_actions_page(page: Page, conveyor: Conveyor) -> None:
    sign_in(page, conveyor.url, "op", PASSWORDS["op"])
    run_id = waiting_run(page, conveyor)
    page.click("#nav-required-actions")
    action = page.locator(f'.required-action[data-run-id="{run_id}"]')
    expect(action).to_be_visible(timeout=WAIT_MS)
    expect(action.locator("h3")).to_have_text(f"Release {run_id}?")
    expect(action.locator(".hitl-body")).to_have_text("Checks passed.")
    action.locator('input[value="Approve"]').check()
    action.locator("[data-action=answer]").click()
    expect(action.locator(".hitl-result")).to_have_text("Answered Approve as op", timeout=WAIT_MS)
    runs = f"{conveyor.url}/api/v2/dags/release_gate/dagRuns/{run_id}"
    poll(lambda: page.request.get(runs).json()["state"] == "success", "the run's success")
    release = page.request.get(f"{runs}/taskInstances/release").json()
    assert release["state"] == "success"
    answered = page.request.get(f"{runs}/taskInstances/gate/-1/hitlDetails").json()
    assert answered["chosen_options"] == ["Approve"]
    assert answered["responded_by_user"]["id"] == "op"
    page.reload()  # answered: no longer listed
    expect(page.locator(f'.required-action[data-run-id="{run_id}"]')).to_have_count(0)


def test_a_viewer_sees_the_question_but_cannot_answer(page: Page, conveyor: Conveyor) -> None:
    sign_in(page, conveyor.url, "viewer", PASSWORDS["viewer"])
    run_id = waiting_run(page, conveyor)
    page.goto(f"{conveyor.url}/required-actions")
    action = page.locator(f'.required-action[data-run-id="{run_id}"]')
    expect(action).to_be_visible(timeout=WAIT_MS)
    expect(action.locator("[data-action=answer]")).to_have_count(0)
    expect(action.locator(".hitl-refusal")).to_contain_text("may read DAG 'release_gate'")
