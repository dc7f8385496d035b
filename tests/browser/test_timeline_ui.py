"""The timeline views and the assets page in a real browser (Debian's chromium driven by
Playwright) against a real ``conveyor scheduler`` and ``conveyor web``, opened by clicking
as an admin, an op and a viewer:

- the Gantt tab draws a bar per try with the task's name (a failed then retried task has two,
  the first up for retry, the second success) and a bar per mapped instance; a bar leads to
  its task instance; the chart of an unfinished run is drawn again as the run moves on;
- landing times list the run; the calendar colours the day of a failed run as failed and a
  click on it lists that day's runs on the runs page;
- the top bar's Assets page lists an asset's producer and consumer; its page shows the event
  with its extra and source run; the graph of DAG links has the asset, trigger and sensor.

No page logs a console error (a CSP violation among them). Chromium missing: the tests skip,
except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, sign_in, started

ui_servers.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

from conveyor.config import load_config  # noqa: E402
from conveyor.states import RUN_FINISHED  # noqa: E402
from conveyor.store.engine import Store  # noqa: E402
from conveyor.store.reads import runs as run_reads  # noqa: E402
from shared_dags import timeline_dags  # noqa: E402

pytestmark = pytest.mark.timeout(300)
WAIT_MS = 45_000
ADMIN_PASSWORD = "admin-secret-1"
ORDERS = "s3://browser-timeline/orders"

TIMELINE_DAGS = timeline_dags("tlb", ORDERS, rows=7)
# A run that fails, for the calendar's failed day.
FAILS_DAG = """
from airflow.sdk import DAG
from airflow.operators.bash import BashOperator

with DAG("tlb_fails", schedule=None):
    BashOperator(task_id="boom", bash_command="exit 1")
"""
# A run the test holds open: its one task runs until the test creates the file ``go``.
GATE_DAG = """
import time
from pathlib import Path

from airflow.sdk import DAG, task

FLAG = Path({flag!r})

with DAG("tlb_gate", schedule=None):
    @task
    def hold():
        deadline = time.monotonic() + 120
        while not FLAG.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    hold()
"""
RUNS = {"tlb_flaky": "flaky_run", "tlb_fails": "fails_run", "tlb_producer": "producer_run"}


browser = ui_servers.browser_fixture()


def _wait_for_runs(servers: Conveyor, limit: float = 90.0) -> None:
    store = Store(load_config(servers.env).settings.db_url)
    try:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            with store.read() as conn:
                states = [run_reads.get_run(conn, d, r).state for d, r in RUNS.items()]
            if all(s in RUN_FINISHED for s in states):
                return
            time.sleep(0.2)
    finally:
        store.dispose()
    raise RuntimeError(f"the runs {RUNS} did not finish within {limit:g}s:\n{servers.logs()}")


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        servers.add_admin(ADMIN_PASSWORD)
        (servers.dags_folder / "timeline_dags.py").write_text(TIMELINE_DAGS)
        (servers.dags_folder / "fails_dag.py").write_text(FAILS_DAG)
        gate = GATE_DAG.format(flag=str(servers.root / "go"))
        (servers.dags_folder / "gate_dag.py").write_text(gate)
        for dag_id in ("tlb_flaky", "tlb_fails", "tlb_producer", "tlb_consumer", "tlb_gate"):
            servers.cli("dags", "unpause", dag_id)
        for dag_id, run_id in RUNS.items():
            servers.cli("dags", "trigger", dag_id, "--run-id", run_id)
        _wait_for_runs(servers)
        yield servers


page = ui_servers.page_fixture(console_errors=True, blank_after=True)


def log_in(page: Page, servers: Conveyor, role: str) -> None:
    password = ADMIN_PASSWORD if role == "admin" else PASSWORDS[role]
    sign_in(page, servers.url, role, password, WAIT_MS)


def open_dag(page: Page, dag_id: str) -> None:
    page.click("nav.mainnav >> text=DAGs")
    page.locator("#dag-table a", has_text=re.compile(f"^{dag_id}$")).click()
    expect(page.locator("#dag-title")).to_have_text(dag_id)


@pytest.fixture(params=["admin", "op", "viewer"])
def signed_in(page: Page, conveyor: Conveyor, request: pytest.FixtureRequest) -> Page:
    """The page, logged in as each role in turn."""
    log_in(page, conveyor, request.param)
    return page


def test_the_gantt_shows_each_try_and_leads_to_the_task_instance(signed_in: Page) -> None:
    page = signed_in
    open_dag(page, "tlb_flaky")
    page.click("nav.tabs >> text=Gantt")
    expect(page).to_have_url(re.compile(r"/dags/tlb_flaky/gantt$"))
    expect(page.locator("#gantt-caption")).to_contain_text("flaky_run")
    flaky = page.locator('#gantt .gantt-row[data-task-id="flaky"]')
    expect(flaky).to_have_count(2)
    expect(flaky.nth(0)).to_have_attribute("data-try", "1")
    expect(flaky.nth(0)).to_have_attribute("data-state", "up_for_retry")
    expect(flaky.nth(1)).to_have_attribute("data-try", "2")
    expect(flaky.nth(1)).to_have_attribute("data-state", "success")
    expect(flaky.nth(0).locator(".gantt-label")).to_have_text("flaky · try 1")
    # Both tries have a bar of their own, the first ending before the second starts.
    first = flaky.nth(0).locator(".gantt-bar").bounding_box()
    second = flaky.nth(1).locator(".gantt-bar").bounding_box()
    assert first is not None and second is not None
    assert first["x"] + first["width"] <= second["x"] + 1
    mapped = page.locator('#gantt .gantt-row[data-task-id="each"]')
    expect(mapped).to_have_count(2)
    expect(mapped.nth(1).locator(".gantt-label")).to_have_text("each [1] · try 1")
    # A bar leads to its task instance, at that try.
    flaky.nth(0).locator(".gantt-bar").click()
    expect(page).to_have_url(re.compile(r"/dags/tlb_flaky/runs/flaky_run/tasks/flaky\?try=1$"))
    expect(page.locator("#ti-state [data-state]")).to_have_attribute("data-state", "success")
    page.go_back()
    mapped.nth(1).locator(".gantt-bar").click()
    expect(page).to_have_url(re.compile(r"/tasks/each/mapped/1\?try=1$"))


def test_landing_times_and_the_calendar_of_a_failed_run(signed_in: Page) -> None:
    page = signed_in
    open_dag(page, "tlb_fails")
    page.click("nav.tabs >> text=Landing times")
    row = page.locator('#landing-table tr[data-run-id="fails_run"]')
    expect(row).to_have_attribute("data-state", "failed")
    expect(row.locator(".landing")).to_have_text(re.compile(r"\d"))
    expect(page.locator('#landing-chart a[data-run-id="fails_run"]')).to_have_count(1)
    page.click("nav.tabs >> text=Calendar")
    day = page.locator("#calendar a.day")
    expect(day).to_have_count(1)
    expect(day).to_have_attribute("data-state", "failed")
    fill = day.locator("rect").evaluate("r => getComputedStyle(r).fill")
    failed = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--st-failed')"
    )
    assert fill == _rgb(failed.strip()), (fill, failed)
    day.click()
    expect(page).to_have_url(re.compile(r"/runs\?dag_id=tlb_fails&logical_date_gte="))
    listed = page.locator("#list-rows tr[data-run-id]")
    expect(listed).to_have_count(1, timeout=WAIT_MS)
    expect(listed).to_have_attribute("data-run-id", "fails_run")
    expect(listed).to_have_attribute("data-state", "failed")


def _rgb(hex_colour: str) -> str:
    value = hex_colour.lstrip("#")
    red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({red}, {green}, {blue})"


def test_the_assets_page_lists_producer_consumer_events_and_dag_links(signed_in: Page) -> None:
    page = signed_in
    page.click("#nav-assets")
    expect(page).to_have_url(re.compile(r"/assets$"))
    row = page.locator(f'#assets tr[data-uri="{ORDERS}"]')
    expect(row.locator(".producers")).to_have_text("tlb_producer.make")
    expect(row.locator(".consumers")).to_have_text("tlb_consumer")
    edges = page.locator("#dependency-edges tbody tr")
    kinds = {
        (
            e.get_attribute("data-source"),
            e.get_attribute("data-target"),
            e.get_attribute("data-kind"),
        )
        for e in edges.all()
    }
    assert ("tlb_controller", "tlb_consumer", "trigger") in kinds
    assert ("tlb_producer", "tlb_controller", "sensor") in kinds
    assert ("tlb_producer", f"asset:{ORDERS}", "asset") in kinds
    expect(page.locator(f'#dependencies svg a.node[data-node="asset:{ORDERS}"]')).to_have_count(1)
    row.locator("a[data-action=open-asset]").click()
    expect(page.locator("#asset-uri")).to_have_text(ORDERS)
    expect(page.locator("#asset-producers")).to_contain_text("tlb_producer")
    expect(page.locator("#asset-consumers")).to_contain_text("tlb_consumer")
    event = page.locator('#asset-events tr[data-run-id="producer_run"]')
    expect(event.locator(".asset-extra")).to_contain_text('"rows": 7')
    event.locator("a", has_text="producer_run").click()
    expect(page).to_have_url(re.compile(r"/dags/tlb_producer\?run=producer_run$"))


def test_a_run_s_gantt_from_the_grid_and_by_its_own_url(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "viewer")
    page.goto(f"{conveyor.url}/dags/tlb_producer/runs/producer_run/gantt")
    expect(page).to_have_url(re.compile(r"/dags/tlb_producer/gantt\?run=producer_run$"))
    expect(page.locator('#gantt .gantt-row[data-task-id="make"]')).to_have_attribute(
        "data-state", "success"
    )
    page.goto(f"{conveyor.url}/dags/tlb_flaky?run=flaky_run")
    page.locator("a[data-action=open-gantt]").click()
    expect(page).to_have_url(re.compile(r"/dags/tlb_flaky/gantt\?run=flaky_run$"))


def test_the_gantt_of_an_unfinished_run_follows_it_without_a_reload_by_hand(
    page: Page, conveyor: Conveyor
) -> None:
    conveyor.cli("dags", "trigger", "tlb_gate", "--run-id", "gate_run")
    log_in(page, conveyor, "viewer")
    page.goto(f"{conveyor.url}/dags/tlb_gate/gantt?run=gate_run")
    row = page.locator('#gantt .gantt-row[data-task-id="hold"]')
    expect(row).to_have_attribute("data-state", "running", timeout=WAIT_MS)
    expect(row.locator(".gantt-bar")).to_have_count(1)
    (conveyor.root / "go").write_text("")
    expect(row).to_have_attribute("data-state", "success", timeout=WAIT_MS)
    expect(page.locator("#gantt")).to_have_attribute("data-state", "success", timeout=WAIT_MS)
