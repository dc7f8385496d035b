"""A team's rights honoured by the pages, in a real browser against a real ``conveyor web``
and ``conveyor scheduler``: a user whose only role is the named role ``team_a``, to which one
DAG's ``access_control`` gives ``can_read`` and ``can_edit`` and another's only ``can_read``,
gets the pause switch, Trigger, Backfill, Mark and Clear on the first (each one used, and
each one doing what it says) and none of them on the second; the top bar labels them with
``team_a``, not "public"; the Users page offers the named role and the Roles page names the
DAGs whose ``access_control`` grants it. And a failed task marked success resumes its run:
the preview lists the task below it that will run again, and the run ends success.

One server for the module; about 35 s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import ui_servers
from ui_servers import Conveyor, sign_in, started

from conveyor.config import load_config
from conveyor.store.engine import Store
from conveyor.store.trigger import trigger_run
from conveyor.web import accounts, roles

ui_servers.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(240)

WAIT_MS = 30_000
ADMIN_PASSWORD = "admin-secret-1"
TARA_PASSWORD = "tara-secret-12"
EDITS, READS, RESUMES = "team_a_edits", "team_a_reads", "team_a_resumes"

# Each DAG's one task fails, so that Mark and Clear have something to act on.
TEAM_DAGS = f'''"""Two DAGs of team_a: it edits the first, only reads the second."""
from datetime import datetime

from conveyor import DAG, BashOperator

with DAG("{EDITS}", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False,
         access_control={{"team_a": {{"can_read", "can_edit"}}}}):
    BashOperator(task_id="work", bash_command="exit 3")

with DAG("{READS}", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False,
         access_control={{"team_a": {{"can_read"}}}}):
    BashOperator(task_id="work", bash_command="exit 3")

with DAG("{RESUMES}", schedule=None, access_control={{"team_a": {{"can_read", "can_edit"}}}}):
    check = BashOperator(task_id="check", bash_command="exit 1")
    check >> BashOperator(task_id="load", bash_command="echo loaded")
'''


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        (servers.dags_folder / "team_a.py").write_text(TEAM_DAGS)
        store = Store(load_config(servers.env).settings.db_url)
        try:
            accounts.create_user(store, "admin", "admin", ADMIN_PASSWORD)
            roles.create_role(store, "team_a")
            accounts.create_user(store, "tara", "public", TARA_PASSWORD)
            accounts.set_roles(store, "tara", ["team_a"])
            servers._wait_until_parsed()
            with store.write() as conn:
                trigger_run(
                    conn, READS, created_by="test", run_id="read-1",
                    logical_date=datetime(2026, 1, 1, tzinfo=UTC),
                )  # fmt: skip
                trigger_run(
                    conn, RESUMES, created_by="test", run_id="resume-1",
                    logical_date=datetime(2026, 1, 1, tzinfo=UTC),
                )  # fmt: skip
        finally:
            store.dispose()
        yield servers


browser = ui_servers.browser_fixture()
page = ui_servers.page_fixture(accept_dialogs=True, blank_after=True)


def api_get(page: Page, servers: Conveyor, path: str) -> Any:
    response = page.request.get(f"{servers.url}/api/v1/{path}")
    assert response.ok, response.text()
    return response.json()


def test_a_team_user_gets_every_action_on_its_dag_and_none_on_the_one_it_reads(
    page: Page, conveyor: Conveyor
) -> None:
    sign_in(page, conveyor.url, "tara", TARA_PASSWORD, WAIT_MS)
    who = page.locator("#who")
    expect(who).to_contain_text("team_a")
    expect(who).not_to_contain_text("public")

    # The DAG list: exactly the team's two DAGs; the switch and Trigger on the one it edits.
    expect(page.locator("#dag-table tr[data-dag-id]")).to_have_count(3, timeout=WAIT_MS)
    edits_row = page.locator(f'#dag-table tr[data-dag-id="{EDITS}"]')
    reads_row = page.locator(f'#dag-table tr[data-dag-id="{READS}"]')
    expect(edits_row.locator("[data-action=trigger]")).to_be_visible()
    expect(reads_row.locator("[data-action=trigger]")).to_have_count(0)
    expect(reads_row.locator(".switch input")).to_be_disabled()
    switch = edits_row.locator(".switch input")
    expect(switch).to_be_enabled()
    # Off and on again (a paused DAG's runs wait, and a run is triggered below).
    for paused in (True, False):
        if api_get(page, conveyor, f"dags/{EDITS}")["is_paused"] is paused:
            continue
        edits_row.locator(".switch").click()
        toast = page.locator(".toast", has_text=f"{EDITS} {'' if paused else 'un'}paused")
        expect(toast).to_be_visible()
        assert api_get(page, conveyor, f"dags/{EDITS}")["is_paused"] is paused

    # The DAG it reads: no switch to use, no Trigger, no Backfill; its trigger page says why.
    page.goto(f"{conveyor.url}/dags/{READS}")
    expect(page.locator("#pause-switch")).to_be_disabled()
    expect(page.locator("#trigger-button, #backfill")).to_have_count(0)
    page.locator('#grid .cell[data-run-id="read-1"][data-task-id="work"]').click()
    expect(page.locator("#details-title")).to_have_text("Task instance")
    expect(page.locator("#details-body button")).to_have_count(0)
    page.goto(f"{conveyor.url}/dags/{READS}/runs/read-1/tasks/work")
    expect(page.locator("#ti-state [data-state]")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#ti-actions button")).to_have_count(0)
    page.goto(f"{conveyor.url}/dags/{READS}/trigger")
    expect(page.locator("#trigger-refused")).to_contain_text("team_a")
    expect(page.locator("#trigger-submit")).to_be_disabled()

    # The DAG it edits: Trigger from its page, then Mark and Clear the failed task.
    page.goto(f"{conveyor.url}/dags/{EDITS}")
    expect(page.locator("#pause-switch")).to_be_enabled()
    page.click("#trigger-button")
    expect(page.locator("#trigger-refused")).to_have_count(0)
    page.click("#trigger-submit")
    expect(page).to_have_url(re.compile(rf"/dags/{EDITS}\?run="))
    run_id = parse_qs(urlparse(page.url).query)["run"][0]
    task_page = f"{conveyor.url}/dags/{EDITS}/runs/{run_id}/tasks/work"
    page.goto(task_page)
    state = page.locator("#ti-state [data-state]")
    expect(state).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    page.click("#ti-actions [data-action=mark-success]")
    expect(page.locator("#action-dialog tr[data-change]")).to_have_count(1, timeout=WAIT_MS)
    page.click('#action-dialog [data-action="confirm"]')
    expect(state).to_have_attribute("data-state", "success", timeout=WAIT_MS)
    page.click("#ti-actions [data-action=clear]")
    expect(page.locator("#action-dialog tr[data-change]")).to_have_count(1, timeout=WAIT_MS)
    page.click('#action-dialog [data-action="confirm"]')
    expect(page.locator("#tries .try")).to_have_count(2, timeout=WAIT_MS)

    # Backfill from the DAG page: the runs are made.
    page.goto(f"{conveyor.url}/dags/{EDITS}")
    if page.locator("#backfill").get_attribute("open") is None:
        page.click("#backfill summary")
    page.fill("#backfill-start", "2026-01-01")
    page.fill("#backfill-end", "2026-01-02")
    page.click("#backfill-submit")
    expect(page.locator("#backfill-done")).to_contain_text("2 runs created", timeout=WAIT_MS)


def test_the_admin_pages_name_the_team_role(page: Page, conveyor: Conveyor) -> None:
    sign_in(page, conveyor.url, "admin", ADMIN_PASSWORD, WAIT_MS)
    page.goto(f"{conveyor.url}/admin/roles")
    grants = page.locator('#roles tr[data-role="team_a"] td.dag-grants')
    expect(grants).to_contain_text(f"{EDITS}: can_edit, can_read")
    expect(grants).to_contain_text(f"{READS}: can_read")

    page.goto(f"{conveyor.url}/admin/users")
    menu = page.locator('select[data-role-of="tara"]')
    expect(menu).to_have_value("public")
    held = page.locator('[data-named-roles-of="tara"] input[value="team_a"]')
    expect(held).to_be_checked()
    # The op gets team_a beside their built-in role, by ticking it.
    page.locator('[data-named-roles-of="op"] input[value="team_a"]').check()
    expect(page.locator(".toast")).to_contain_text("op now holds")
    found = api_get(page, conveyor, "users")["users"]
    assert {u["username"]: (u["role"], u["roles"]) for u in found}["op"] == ("op", ["team_a"])
    # And tara, a viewer besides: the menu sets the built-in role, keeping the named one.
    menu.select_option("viewer")
    expect(page.locator(".toast").last).to_contain_text("tara now holds")
    found = api_get(page, conveyor, "users")["users"]
    assert {u["username"]: (u["role"], u["roles"]) for u in found}["tara"] == (
        "viewer",
        ["team_a"],
    )


def test_a_failed_task_marked_success_resumes_its_run(page: Page, conveyor: Conveyor) -> None:
    sign_in(page, conveyor.url, "tara", TARA_PASSWORD, WAIT_MS)
    page.goto(f"{conveyor.url}/dags/{RESUMES}?run=resume-1")
    bar = page.locator('#grid a.run-bar[data-run-id="resume-1"]')
    expect(bar).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    page.goto(f"{conveyor.url}/dags/{RESUMES}/runs/resume-1/tasks/check")
    page.click("#ti-actions [data-action=mark-success]")
    rows = page.locator("#action-dialog tr[data-change]")
    expect(rows).to_have_count(2, timeout=WAIT_MS)
    load = rows.and_(page.locator('[data-task-id="load"]'))
    expect(load).to_contain_text("runs again")
    expect(
        rows.and_(page.locator('[data-task-id="check"]')).locator("[data-runs-again]")
    ).to_have_count(0)
    page.click('#action-dialog [data-action="confirm"]')
    page.goto(f"{conveyor.url}/dags/{RESUMES}?run=resume-1")
    expect(bar).to_have_attribute("data-state", "success", timeout=WAIT_MS)
    found = api_get(page, conveyor, f"dags/{RESUMES}/runs/resume-1/tasks/load")
    assert found["state"] == "success" and found["try_number"] == 1
