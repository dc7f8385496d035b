"""The web UI in a real browser: Debian's headless chromium driven by Playwright.

Each module-scoped server is a real ``conveyor scheduler`` (local executor) and a real
``conveyor web`` on a SQLite store, started as a user would. The tests log in, trigger
from the params form, watch the grid turn green without a reload, open a failed try, and
do it all again under a path prefix, checking that every request the browser makes
stays under it.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, started

ui_servers.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(180)

#: Long enough for a slow, shared 2-core machine; a green run takes about 2 s.
WAIT_MS = 30_000


browser = ui_servers.browser_fixture()


def _servers(tmp_path_factory: pytest.TempPathFactory, base_url: str) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor"), base_url) as servers:
        yield servers


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    yield from _servers(tmp_path_factory, "")


@pytest.fixture(scope="module")
def prefixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    yield from _servers(tmp_path_factory, "/conveyor")


page = ui_servers.page_fixture()


def log_in(page: Page, servers: Conveyor, role: str = "op") -> None:
    page.goto(f"{servers.url}/")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # every page needs a login
    page.fill("#username", role)
    page.fill("#password", PASSWORDS[role])
    page.click("button[type=submit]")
    expect(page.locator("#dag-table")).to_be_visible()


def dag_row(page: Page, dag_id: str) -> Any:
    return page.locator(f'#dag-rows tr[data-dag-id="{dag_id}"]')


def trigger_from_form(page: Page, servers: Conveyor, dag_id: str, values: dict[str, str]) -> str:
    """Open the DAG's trigger form from the list, fill it, submit; return the new run id."""
    page.goto(f"{servers.url}/")
    dag_row(page, dag_id).locator("[data-action=trigger]").click()
    expect(page.locator("#trigger-form")).to_be_visible()
    for name, value in values.items():
        page.fill(f'#trigger-form [name="{name}"]', value)
    page.click("#trigger-submit")
    expect(page).to_have_url(re.compile(rf"/dags/{dag_id}\?run="))
    run_id = page.evaluate("new URLSearchParams(location.search).get('run')")
    assert run_id and run_id.startswith("manual__")
    return str(run_id)


def watch_run_turn_green(page: Page, run_id: str) -> None:
    """The run's column in the grid goes green while the page stays loaded."""
    page.evaluate("window.__sameDocument = true")
    bar = page.locator(f'#grid a.run-bar[data-run-id="{run_id}"]')
    expect(bar).to_have_attribute("data-state", "success", timeout=WAIT_MS)
    cells = page.locator(f'#grid .cell[data-run-id="{run_id}"]')
    assert cells.count() == 5
    for index in range(5):
        expect(cells.nth(index)).to_have_attribute("data-state", "success")
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"


def open_failed_try(page: Page, servers: Conveyor) -> None:
    """Trigger the failing DAG, click its failed square, open the task instance page."""
    run_id = trigger_from_form(page, servers, "nightly_billing", {})
    failed = page.locator(f'#grid .cell[data-run-id="{run_id}"][data-task-id="compute_invoices"]')
    expect(failed).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    downstream = page.locator(f'#grid .cell[data-run-id="{run_id}"][data-task-id="send_invoices"]')
    expect(downstream).to_have_attribute("data-state", "upstream_failed", timeout=WAIT_MS)
    failed.click()
    expect(page.locator("#details-title")).to_have_text("Task instance")
    page.click("[data-action=open-task]")
    expect(page.locator("#exception")).to_contain_text(
        "ValueError: column 'amount' is missing from invoices.csv"
    )
    expect(page.locator("#error")).to_contain_text("Try 1 failed (exception)")
    # The last lines of the log at the top, with what the task printed before it failed.
    expect(page.locator("#log-tail")).to_contain_text("reading amounts")
    # Its box is shorter than the lines it holds, and shows their end, where the error is.
    box = page.locator("#log-tail")
    assert box.evaluate("e => e.scrollHeight > e.clientHeight")
    assert box.evaluate("e => e.scrollTop + e.clientHeight >= e.scrollHeight - 2")
    expect(page.locator("#try-1")).to_contain_text("started")
    expect(page.locator("#log")).to_contain_text("computing invoices for 42 customers")


def test_log_in_trigger_from_the_form_and_watch_the_run_turn_green(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor)
    form_run = trigger_from_form(page, conveyor, "shop_orders", {"rows": "5", "region": "us-east"})
    watch_run_turn_green(page, form_run)
    # The form sent typed values: an integer and a string, as the params' defaults are.
    page.locator(f'#grid a.run-bar[data-run-id="{form_run}"]').click()
    expect(page.locator("#details-body")).to_contain_text('"rows": 5')
    expect(page.locator("#details-body")).to_contain_text('"region": "us-east"')


def test_a_param_of_the_wrong_type_is_refused_under_its_field(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor)
    page.goto(f"{conveyor.url}/dags/shop_orders/trigger")
    page.fill('#trigger-form [name="rows"]', "2.5")
    page.click("#trigger-submit")
    error = page.locator('.field[data-param="rows"] .error')
    expect(error).to_be_visible()
    expect(error).to_contain_text("whole number")
    expect(page).to_have_url(re.compile(r"/trigger$"))  # nothing was triggered


def test_open_a_failed_try_and_see_its_exception_and_log(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor)
    open_failed_try(page, conveyor)


def test_retry_from_the_task_page_adds_a_second_try_without_reload(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor)
    open_failed_try(page, conveyor)
    page.evaluate("window.__sameDocument = true")
    page.click("[data-action=clear]")
    page.click("#action-dialog [data-action=confirm]")
    expect(page.locator("#try-2")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#ti-state [data-state]")).to_have_attribute(
        "data-state", "failed", timeout=WAIT_MS
    )
    expect(page.locator("#ti-try")).to_have_text(re.compile(r"^try 2 of"))
    assert page.evaluate("window.__sameDocument") is True


def test_the_dag_list_shows_import_errors_with_file_and_line(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor)
    errors = page.locator("#import-errors")
    expect(errors).to_be_visible(timeout=WAIT_MS)
    expect(errors).to_contain_text("broken_dag.py:9")
    expect(errors).to_contain_text("SyntaxError")
    # The other DAGs load regardless.
    for dag_id in ("shop_orders", "nightly_billing", "hourly_sync"):
        expect(dag_row(page, dag_id)).to_be_visible()


def test_the_graph_is_laid_out_in_layers_and_coloured_by_state(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor)
    run_id = trigger_from_form(page, conveyor, "shop_orders", {})
    page.goto(f"{conveyor.url}/dags/shop_orders/graph")
    node = page.locator('svg.graph g.node[data-task-id="publish_report"]')
    expect(node).to_have_attribute("data-state", "success", timeout=WAIT_MS)
    assert page.locator("svg.graph g.node").count() == 5
    assert page.locator("svg.graph path.edge").count() == 5

    def column(task_id: str) -> float:
        box = page.locator(f'svg.graph g.node[data-task-id="{task_id}"]').bounding_box()
        assert box is not None
        return round(box["x"] + box["width"] / 2)  # nodes are centred in their column

    assert column("extract") < column("clean") == column("validate") < column("load")
    assert column("load") < column("publish_report")
    node.click()
    expect(page).to_have_url(re.compile(r"/tasks/publish_report$"))
    assert run_id.replace(":", "%3A").replace("+", "%2B") in page.url


def test_durations_over_runs_for_the_whole_run_and_one_task(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor)
    run_id = trigger_from_form(page, conveyor, "shop_orders", {})
    expect(page.locator(f'#grid a.run-bar[data-run-id="{run_id}"]')).to_have_attribute(
        "data-state", "success", timeout=WAIT_MS
    )
    page.click("nav.tabs >> text=Durations")
    bar = page.locator(f'#durations rect.dur[data-run-id="{run_id}"]')
    expect(bar).to_be_visible()
    page.select_option("#duration-task", "load")
    expect(page.locator("#durations")).to_contain_text("tries")
    expect(bar).to_be_visible()
    # load sleeps 0.3 s: its bar is labelled with at least that.
    title = bar.locator("title").text_content() or ""
    found = re.search(r"· ([\d.]+) (ms|s)\n", title)
    assert found is not None, title
    seconds = float(found.group(1)) / (1000 if found.group(2) == "ms" else 1)
    assert seconds >= 0.3, title


def test_a_task_that_is_not_running_says_what_it_waits_for(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor)
    page.goto(f"{conveyor.url}/dags/nightly_billing")
    page.click(".page-head .switch")
    expect(page.locator("#pause-label")).to_have_text("paused")
    run_id = trigger_from_form(page, conveyor, "nightly_billing", {})
    cell = page.locator(f'#grid .cell[data-run-id="{run_id}"][data-task-id="fetch_customers"]')
    expect(cell).to_have_attribute("data-state", "none")
    cell.click()
    page.click("[data-action=open-task]")
    waiting = page.get_by_test_id("waiting-for")
    expect(waiting).to_contain_text("is paused: unpause it")
    expect(waiting).to_contain_text("max_active_runs")
    # Unpaused (by API, as a script would), the task runs and the page follows on its own.
    page.evaluate(
        """() => fetch(document.querySelector('meta[name=base-url]').content
                       + '/api/v1/dags/nightly_billing', {
            method: 'PATCH', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json',
                      'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
            body: JSON.stringify({is_paused: false})})"""
    )
    expect(page.locator("#ti-state [data-state]")).to_have_attribute(
        "data-state", "success", timeout=WAIT_MS
    )
    expect(waiting).to_have_count(0)


def test_pausing_a_dag_from_the_list_sticks(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor)
    switch = dag_row(page, "hourly_sync").locator(".switch input")
    expect(switch).to_be_checked()
    dag_row(page, "hourly_sync").locator(".switch").click()
    expect(dag_row(page, "hourly_sync")).to_have_class(re.compile("paused"))
    page.reload()
    expect(dag_row(page, "hourly_sync").locator(".switch input")).not_to_be_checked()
    dag_row(page, "hourly_sync").locator(".switch").click()  # leave it as it was
    expect(dag_row(page, "hourly_sync")).not_to_have_class(re.compile("paused"))


def test_a_viewer_is_not_offered_buttons_they_may_not_use(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, role="viewer")
    row = dag_row(page, "shop_orders")
    expect(row).to_be_visible()
    expect(row.locator("[data-action=trigger]")).to_have_count(0)
    expect(row.locator(".switch input")).to_be_disabled()
    page.goto(f"{conveyor.url}/dags/shop_orders")
    expect(page.locator("#trigger-button")).to_have_count(0)
    expect(page.locator("#pause-switch")).to_be_disabled()
    page.goto(f"{conveyor.url}/dags/shop_orders/trigger")
    expect(page.locator("#trigger-submit")).to_be_disabled()


def test_workers_page_lists_the_live_scheduler(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor)
    page.click("nav.mainnav >> text=Workers")
    scheduler = page.locator("#schedulers tr[data-scheduler]").first
    expect(scheduler).to_contain_text("alive", timeout=WAIT_MS)
    pid = conveyor.processes[0].pid
    expect(scheduler).to_contain_text(str(pid))


def test_everything_works_under_a_path_prefix(page: Page, prefixed: Conveyor) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    log_in(page, prefixed)
    assert urlsplit(page.url).path == "/conveyor/"
    run_id = trigger_from_form(page, prefixed, "shop_orders", {"rows": "2"})
    watch_run_turn_green(page, run_id)
    open_failed_try(page, prefixed)
    page.click("nav.mainnav >> text=Workers")
    expect(page.locator("#schedulers tr[data-scheduler]").first).to_contain_text("alive")
    outside = [u for u in requested if not urlsplit(u).path.startswith("/conveyor/")]
    assert not outside, f"requests outside the prefix: {outside}"
    assert any("/conveyor/static/" in u for u in requested)
    assert any("/conveyor/api/v1/" in u for u in requested)


def test_server_logs_stay_free_of_tracebacks(conveyor: Conveyor) -> None:
    logs = conveyor.logs()
    assert "Traceback" not in Path(conveyor.root / "web.log").read_text(), logs
