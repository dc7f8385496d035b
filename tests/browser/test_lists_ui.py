"""The everyday lists and actions in a real browser (Debian's chromium driven by Playwright):
the DAG list at scale (search, state, tags, sort, pages, all in the URL), the pages of runs
and task instances across DAGs, actions on a whole run, clear with options, and bulk actions
with their preview. Each job is done by clicking, as admin or op; a viewer is offered no
button and the API refuses them. The servers are a real ``conveyor scheduler`` and
``conveyor web`` on a SQLite store, as in test_ui.py.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, sign_in, started

from conveyor.config import load_config
from conveyor.store.engine import Store
from conveyor.store.reads.dags import list_dag_rows
from conveyor.store.trigger import trigger_run
from conveyor.web import accounts

ui_servers.require_chromium()

from playwright.sync_api import Locator, Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(240)

#: Long enough for a slow, shared 2-core machine.
WAIT_MS = 30_000
ADMIN_PASSWORD = "admin-secret-12"

#: 55 DAGs from one file: more than a page of the DAG list (50).
MANY_DAGS = '''"""Many small DAGs, so the DAG list has more than one page."""
from conveyor import DAG, task

for number in range(55):
    with DAG(f"fleet_{number:02d}", schedule=None, tags=["fleet", f"group_{number % 5}"]):

        @task
        def ping() -> None:
            print("ping")

        ping()
'''


browser = ui_servers.browser_fixture()


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        (servers.dags_folder / "fleet.py").write_text(MANY_DAGS)
        create_admin(servers)
        # Three runs of nightly_billing (they fail), a day apart: bill-1 the oldest.
        for day in (1, 2, 3):
            trigger(servers, f"bill-{day}", datetime(2026, 1, day, tzinfo=UTC))
        servers._wait_until_parsed()  # fleet.py too
        yield servers


def trigger(servers: Conveyor, run_id: str, logical_date: datetime | None = None) -> None:
    """A manual run of nightly_billing, as `conveyor dags trigger` makes it (without parsing
    the DAG folder again, which the scheduler already did)."""
    store = Store(load_config(servers.env).settings.db_url)
    try:
        with store.write() as conn:
            trigger_run(
                conn,
                "nightly_billing",
                created_by="test",
                run_id=run_id,
                logical_date=logical_date,
            )
    finally:
        store.dispose()


def create_admin(servers: Conveyor) -> None:
    """An admin, as `conveyor users create admin --role admin` makes one."""
    store = Store(load_config(servers.env).settings.db_url)
    try:
        accounts.create_user(store, "admin", "admin", ADMIN_PASSWORD)
    finally:
        store.dispose()


page = ui_servers.page_fixture()


def log_in(page: Page, servers: Conveyor, role: str) -> None:
    sign_in(page, servers.url, role, ADMIN_PASSWORD if role == "admin" else PASSWORDS[role])


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def wait_for_failed_runs(page: Page, servers: Conveyor, *run_ids: str) -> None:
    """These billing runs have failed (the runs page follows them live)."""
    page.goto(f"{servers.url}/runs?dag_id_pattern=nightly_billing&state=failed")
    for run_id in run_ids or ("bill-1", "bill-2", "bill-3"):
        expect(run_row(page, run_id)).to_have_count(1, timeout=WAIT_MS)


def run_row(page: Page, run_id: str) -> Locator:
    return page.locator(f'#list-rows tr[data-run-id="{run_id}"]')


# -- the DAG list -------------------------------------------------------------------------


def test_the_dag_list_searches_pages_and_keeps_it_all_in_the_url(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "viewer")
    rows = page.locator("#dag-rows tr[data-dag-id]")
    expect(page.locator("#page-of")).to_have_text("page 1 of 2")
    expect(rows).to_have_count(50)
    page.fill("#dag-filter", "fleet")
    expect(page).to_have_url(re.compile(r"\?search=fleet$"))
    expect(page.locator("#dag-summary")).to_contain_text("55 DAGs match")
    page.click('#dag-pager [data-page="2"]')
    expect(page.locator("#page-of")).to_have_text("page 2 of 2")
    expect(rows).to_have_count(5)
    assert query_of(page) == {"search": ["fleet"], "page": ["2"]}
    expect(rows.first).to_have_attribute("data-dag-id", "fleet_50")
    # Sorted the other way: page 1 again, the last DAG first.
    page.select_option("#dag-sort", "-dag_id")
    expect(rows.first).to_have_attribute("data-dag-id", "fleet_54")
    assert query_of(page) == {"search": ["fleet"], "order_by": ["-dag_id"]}
    # The URL is the view: opened afresh, it shows the same.
    page.goto(page.url)
    expect(rows.first).to_have_attribute("data-dag-id", "fleet_54")
    expect(page.locator("#dag-filter")).to_have_value("fleet")
    expect(page.locator("#dag-sort")).to_have_value("-dag_id")


def test_a_tag_and_a_state_filter_the_dag_list(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "viewer")
    wait_for_failed_runs(page, conveyor)
    page.goto(f"{conveyor.url}/")
    rows = page.locator("#dag-rows tr[data-dag-id]")
    page.locator('#dag-rows tr[data-dag-id="fleet_03"] a.tag[data-tag="group_3"]').click()
    expect(page).to_have_url(re.compile(r"\?tag=group_3$"))
    expect(rows).to_have_count(11)
    page.click('#dag-states [data-state-filter="failed"]')
    expect(rows).to_have_count(0)  # no fleet DAG failed
    page.locator("#dag-tags a.tag").click()  # the active tag, clicked: filter off
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-dag-id", "nightly_billing")
    assert query_of(page) == {"state": ["failed"]}
    page.click('#dag-states [data-state-filter="all"]')
    expect(page.locator("#page-of")).to_have_text("page 1 of 2")


def paused_dags(servers: Conveyor) -> set[str]:
    """The DAGs the store holds paused."""
    store = Store(load_config(servers.env).settings.db_url)
    try:
        with store.read() as conn:
            return {row.dag_id for row in list_dag_rows(conn) if row.is_paused}
    finally:
        store.dispose()


def test_an_op_pauses_the_dags_of_a_tag_and_unpauses_selected_rows(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "op")
    page.once("dialog", lambda dialog: dialog.accept())
    page.goto(f"{conveyor.url}/?tag=group_3")
    rows = page.locator("#dag-rows tr[data-dag-id]")
    expect(rows).to_have_count(11)
    assert paused_dags(conveyor) == set()
    page.click('#dag-bulk [data-bulk="matching"][data-paused="true"]')
    expect(page.locator("#dag-rows tr.paused")).to_have_count(11, timeout=WAIT_MS)
    group_3 = {f"fleet_{n:02d}" for n in range(3, 55, 5)}
    assert paused_dags(conveyor) == group_3  # those of the tag, and no other DAG

    for dag_id in ("fleet_03", "fleet_08"):
        page.check(f'input[data-select="{dag_id}"]')
    expect(page.locator("#dag-selected")).to_have_text("2 selected")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('#dag-bulk [data-bulk="selected"][data-paused="false"]')
    expect(page.locator("#dag-rows tr.paused")).to_have_count(9, timeout=WAIT_MS)
    assert paused_dags(conveyor) == group_3 - {"fleet_03", "fleet_08"}

    page.once("dialog", lambda dialog: dialog.accept())  # as the other tests expect it
    page.click('#dag-bulk [data-bulk="matching"][data-paused="false"]')
    expect(page.locator("#dag-rows tr.paused")).to_have_count(0, timeout=WAIT_MS)
    assert paused_dags(conveyor) == set()


# -- runs and task instances across DAGs ---------------------------------------------------


def test_the_runs_page_filters_in_the_url_and_an_admin_marks_runs_in_bulk(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "admin")
    wait_for_failed_runs(page, conveyor)
    page.goto(f"{conveyor.url}/")
    page.click("nav.mainnav >> text=Runs")
    page.click("#failed-24h")
    query = query_of(page)
    assert query["state"] == ["failed"] and "end_date_gte" in query
    rows = page.locator("#list-rows tr[data-run-id]")
    expect(rows).to_have_count(3)
    for run in ("bill-1", "bill-2"):
        run_row(page, run).locator("input[data-select=row]").click()
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    page.click("[data-bulk=mark-success]")
    preview = page.locator("#action-preview")
    expect(preview).to_contain_text("4 task instances in 2 runs will change")
    changed = preview.locator("tr[data-change]")
    expect(changed).to_have_count(4)
    expect(preview.locator('tr[data-run-id="bill-3"]')).to_have_count(0)
    page.click("#action-dialog [data-action=confirm]")
    expect(page.locator("#action-dialog")).to_have_count(0)
    # Marked success: the failed-only view loses them; the rest stays.
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    expect(rows.first).to_have_attribute("data-run-id", "bill-3")
    # Marked success at once (not sent back to the scheduler), their history kept.
    page.goto(f"{conveyor.url}/runs?dag_id_pattern=billing&state=success")
    expect(run_row(page, "bill-1")).to_have_count(1, timeout=WAIT_MS)
    expect(run_row(page, "bill-2")).to_have_count(1, timeout=WAIT_MS)


def test_the_task_instances_page_filters_and_an_op_clears_from_it(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "op")
    wait_for_failed_runs(page, conveyor, "bill-3")
    page.click("nav.mainnav >> text=Task instances")
    expect(page).to_have_url(re.compile(r"/task-instances$"))
    page.fill('#filters [name="task_id_pattern"]', "compute")
    page.select_option('#filters [name="state"]', "failed")
    expect(page).to_have_url(re.compile(r"state=failed"))
    page.click("#apply-filters")
    assert query_of(page) == {"state": ["failed"], "task_id_pattern": ["compute"]}
    rows = page.locator("#list-rows tr[data-task-id]")
    expect(rows.first).to_have_attribute("data-task-id", "compute_invoices", timeout=WAIT_MS)
    target = page.locator('#list-rows tr[data-run-id="bill-3"]')
    target.locator("input[data-select=row]").click()
    page.click("[data-bulk=clear]")
    dialog = page.locator("#action-dialog")
    expect(dialog.locator("tr[data-change]")).to_have_count(1)
    dialog.locator('input[name="downstream"]').check()
    expect(dialog.locator("tr[data-change]")).to_have_count(2)
    expect(dialog.locator('tr[data-task-id="send_invoices"]')).to_contain_text("upstream failed")
    page.click("#action-dialog [data-action=confirm]")
    # Cleared, it runs again and fails again: its second try.
    page.goto(f"{conveyor.url}/task-instances?dag_id_pattern=nightly&task_id_pattern=compute")
    again = page.locator('#list-rows tr[data-run-id="bill-3"]')
    expect(again).to_contain_text("2 of", timeout=WAIT_MS)


# -- actions on a run from its DAG ---------------------------------------------------------


def test_an_op_clears_with_past_and_marks_a_run_from_the_grid(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "op")
    trigger(conveyor, "bill-9")
    page.goto(f"{conveyor.url}/dags/nightly_billing?run=bill-9")
    bar = page.locator('#grid a.run-bar[data-run-id="bill-9"]')
    expect(bar).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    # Clear one task with past: the same task in the earlier runs is listed too.
    page.locator('#grid .cell[data-run-id="bill-9"][data-task-id="fetch_customers"]').click()
    page.click("[data-action=clear-options]")
    dialog = page.locator("#action-dialog")
    expect(dialog.locator("tr[data-change]")).to_have_count(1)
    dialog.locator('input[name="past"]').check()
    expect(dialog.locator('tr[data-run-id="bill-1"]')).to_have_count(1)
    dialog.locator("[data-action=cancel]").click()
    expect(dialog).to_have_count(0)
    # The whole run: mark it success after the preview.
    bar.click()
    page.click("[data-action=run-mark-success]")
    expect(dialog.locator("#action-summary")).to_contain_text("2 task instances in 1 run")
    page.click("#action-dialog [data-action=confirm]")
    expect(bar).to_have_attribute("data-state", "success", timeout=WAIT_MS)
    # Clear the run: every task runs again, and the run fails again.
    bar.click()
    page.click("[data-action=run-clear-failed]")
    expect(dialog.locator("#action-summary")).to_contain_text("Nothing would change")
    dialog.locator("[data-action=cancel]").click()
    page.click("[data-action=run-clear]")
    expect(dialog.locator("tr[data-change]")).to_have_count(3)
    page.click("#action-dialog [data-action=confirm]")
    expect(bar).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    path = "/api/v1/dags/nightly_billing/runs/bill-9/tasks/compute_invoices"
    assert page.request.get(f"{conveyor.url}{path}").json()["try_number"] == 2


# -- a viewer ------------------------------------------------------------------------------


def test_a_viewer_gets_no_action_and_the_api_refuses(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "viewer")
    page.goto(f"{conveyor.url}/runs?dag_id_pattern=nightly_billing")
    expect(page.locator("#list-rows tr[data-run-id]").first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("input[data-select]")).to_have_count(0)
    expect(page.locator("[data-bulk]")).to_have_count(0)
    page.goto(f"{conveyor.url}/task-instances")
    expect(page.locator("#list-rows tr[data-task-id]").first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("input[data-select]")).to_have_count(0)
    page.goto(f"{conveyor.url}/dags/nightly_billing?run=bill-1")
    expect(page.locator("#details-title")).to_have_text("Run", timeout=WAIT_MS)
    expect(page.locator("[data-action^=run-]")).to_have_count(0)
    page.locator('#grid .cell[data-run-id="bill-1"][data-task-id="fetch_customers"]').click()
    expect(page.locator("#details-title")).to_have_text("Task instance")
    expect(page.locator("[data-action=clear-options]")).to_have_count(0)
    status = page.evaluate(
        """async () => (await fetch(document.querySelector('meta[name=base-url]').content
                       + '/api/v1/runs/mark', {
            method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json',
                      'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
            body: JSON.stringify({runs: [{dag_id: 'nightly_billing', run_id: 'bill-1'}],
                                  state: 'failed'})})).status"""
    )
    assert status == 403
