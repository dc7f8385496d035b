"""The task instance page and the fixes of issue 43, in a real browser (Debian's chromium
driven by Playwright) against a real ``conveyor scheduler`` and ``conveyor web``:

- a mapped task's page sums up its instances; each instance has its own page, log, tries
  and actions, and Retry or Mark there acts on that instance only;
- the log viewer: a time per line, search, wrap, download, following a retry that starts
  while the page is open, and "no try yet" instead of an empty log box;
- the XCom and rendered-templates tabs; notes on runs and task instances (op edits them, a
  viewer reads them);
- a task callback's error is shown on the page (above the tries, and in its try's timeline);
- Stop on a running BashOperator (``sleep 300`` under its shell) fails it and its shell and
  ``sleep`` are gone, and the followed log shows the on_kill line written as it stopped,
  without a reload; Stop run on a running run does the same through the run;
- the grid orders runs by logical date; the DAG page's header updates live; at 390 px the
  top bar keeps the user and Log out; the API link opens in a new tab.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, sign_in, started

ui_servers.require_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

from shared_dags import MAPPED_EACH  # noqa: E402

pytestmark = pytest.mark.timeout(240)

#: Long enough for a slow, shared 2-core machine.
WAIT_MS = 45_000

MAPPED_DAG = (
    """
from datetime import datetime

from airflow import DAG
from airflow.decorators import task

with DAG("ti_mapped", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):"""
    + MAPPED_EACH
)

# Try 1 of ``slow`` waits for the file go1, then fails; try 2 waits for go2, then returns:
# the test decides when each try ends, with no sleeps.
DETAIL_DAG = """
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path

from airflow import DAG
from airflow.decorators import task
from airflow.operators.bash import BashOperator

FLAGS = Path({flags!r})

with DAG(
    "ti_detail",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={{"word": "hello"}},
):
    @task(retries=1, retry_delay=timedelta(seconds=0))
    def slow(**context):
        ti = context["ti"]
        ti.xcom_push(key="extra", value={{"rows": 3}})
        logging.getLogger("ti_detail").info("stamped line from try %s", ti.try_number)
        print(f"plain line from try {{ti.try_number}}", flush=True)
        flag = FLAGS / f"go{{ti.try_number}}"
        deadline = time.monotonic() + 120
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if ti.try_number == 1:
            raise RuntimeError("the first try fails on purpose")
        return {{"answer": 42}}

    templated = BashOperator(task_id="templated", bash_command="echo {{{{ params.word }}}} done")
    slow() >> templated
"""

# A success whose callback raises: the page shows the callback's error, not only its log.
CALLBACK_DAG = """
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator


def broken(context):
    raise KeyError("channel")


with DAG("ti_callback", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    PythonOperator(task_id="fine", python_callable=lambda: 1, on_success_callback=broken)
"""


STOP_DAG = """
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("ti_stop", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    BashOperator(
        task_id="sleepy",
        bash_command="echo $$ > {pids}/$RANDOM.pid; sleep 300 & echo $! > {pids}/$RANDOM.pid; wait",
    )
"""


browser = ui_servers.browser_fixture()


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        flags = servers.root / "flags"
        flags.mkdir()
        (servers.dags_folder / "ti_mapped.py").write_text(textwrap.dedent(MAPPED_DAG))
        (servers.dags_folder / "ti_detail.py").write_text(DETAIL_DAG.format(flags=str(flags)))
        (servers.dags_folder / "ti_callback.py").write_text(CALLBACK_DAG)
        (servers.root / "pids").mkdir()
        stop_dag = textwrap.dedent(STOP_DAG).format(pids=str(servers.root / "pids"))
        (servers.dags_folder / "ti_stop.py").write_text(stop_dag)
        _wait_for_dags(servers, {"ti_mapped", "ti_detail", "ti_callback", "ti_stop"})
        for dag_id in ("ti_mapped", "ti_detail", "ti_callback", "ti_stop"):
            servers.cli("dags", "unpause", dag_id)
        yield servers


def _wait_for_dags(servers: Conveyor, wanted: set[str], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        listed = servers.cli("dags", "list").stdout
        if all(dag_id in listed for dag_id in wanted):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the scheduler did not load {sorted(wanted)}:\n{servers.logs()}")


def _context(browser: Browser, **options: Any) -> Any:
    return browser.new_context(viewport={"width": 1400, "height": 900}, **options)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = _context(browser, accept_downloads=True)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    assert not errors, f"errors on the page: {errors}"


def log_in(page: Page, servers: Conveyor, role: str = "op") -> None:
    sign_in(page, servers.url, role, PASSWORDS[role], WAIT_MS)


def trigger(page: Page, servers: Conveyor, dag_id: str, run_id: str = "", date: str = "") -> str:
    """Trigger from the DAG's form (a run id and a logical date if given); the new run id."""
    page.goto(f"{servers.url}/dags/{dag_id}/trigger")
    if run_id or date:
        page.click("#trigger-form details summary")
    if run_id:
        page.fill("#run-id", run_id)
    if date:
        page.fill("#logical-date", date)
    page.click("#trigger-submit")
    expect(page).to_have_url(re.compile(rf"/dags/{dag_id}\?run="), timeout=WAIT_MS)
    return str(page.evaluate("new URLSearchParams(location.search).get('run')"))


def api(page: Page, servers: Conveyor, path: str) -> Any:
    response = page.request.get(f"{servers.url}/api/v1/{path}")
    assert response.ok, response.text()
    return response.json()


def ti_url(servers: Conveyor, dag_id: str, run_id: str, task_id: str) -> str:
    return f"{servers.url}/dags/{dag_id}/runs/{run_id}/tasks/{task_id}"


def test_a_mapped_task_sums_up_its_instances_and_each_has_its_own_page_and_actions(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "op")
    run_id = trigger(page, conveyor, "ti_mapped")
    # From the grid: the mapped task's square, then its page.
    cell = page.locator(f'#grid .cell[data-run-id="{run_id}"][data-task-id="each"]')
    expect(cell).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    page.goto(ti_url(conveyor, "ti_mapped", run_id, "each"))
    # The task as a whole is failed (instance 0, which succeeded, is not the whole task).
    expect(page.locator("#ti-state [data-state]")).to_have_attribute("data-state", "failed")
    rows = page.locator("#instances tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator('#instances-summary .count[data-state="success"]')).to_contain_text("2")
    expect(page.locator('#instances-summary .count[data-state="failed"]')).to_contain_text("1")
    expect(rows.nth(1).locator("[data-state]")).to_have_attribute("data-state", "failed")

    # Instance 1: its own page (URL), tries and log.
    rows.nth(1).locator("a").click()
    expect(page).to_have_url(re.compile(r"/tasks/each/mapped/1$"))
    expect(page.locator("#ti-state [data-state]")).to_have_attribute("data-state", "failed")
    expect(page.locator("#exception")).to_contain_text("one is bad")
    expect(page.locator("#log")).to_contain_text("instance with x=1", timeout=WAIT_MS)
    expect(page.locator("#tries .try")).to_have_count(1)

    # Retry on instance 1 runs instance 1 again, and only it.
    page.click('#ti-actions [data-action="clear"]')
    expect(page.locator('#action-preview tr[data-change][data-map-index="1"]')).to_have_count(1)
    expect(page.locator("#action-preview tr[data-change]")).to_have_count(1)
    page.click('#action-dialog [data-action="confirm"]')
    expect(page.locator("#tries .try")).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator("#ti-state [data-state]")).to_have_attribute(
        "data-state", "failed", timeout=WAIT_MS
    )
    whole = api(page, conveyor, f"dags/ti_mapped/runs/{run_id}/tasks/each")
    tries = {i["map_index"]: i["try_number"] for i in whole["instances"]}
    assert tries == {0: 1, 1: 2, 2: 1}, whole["instances"]

    # Mark failed on instance 2 marks instance 2, and only it.
    page.goto(ti_url(conveyor, "ti_mapped", run_id, "each") + "/mapped/2")
    expect(page.locator("#ti-state [data-state]")).to_have_attribute("data-state", "success")
    page.click('#ti-actions [data-action="mark-failed"]')
    expect(page.locator("#action-preview tr[data-change]")).to_have_count(1)
    page.click('#action-dialog [data-action="confirm"]')
    expect(page.locator("#ti-state [data-state]")).to_have_attribute(
        "data-state", "failed", timeout=WAIT_MS
    )
    whole = api(page, conveyor, f"dags/ti_mapped/runs/{run_id}/tasks/each")
    states = {i["map_index"]: i["state"] for i in whole["instances"]}
    assert states == {0: "success", 1: "failed", 2: "failed"}, states
    # The crumbs lead back to the task as a whole.
    page.click("#crumb-task")
    expect(page.locator("#instances tbody tr")).to_have_count(3)


def test_a_viewer_reads_an_instance_page_without_buttons(
    browser: Browser, conveyor: Conveyor
) -> None:
    context = _context(browser)
    page = context.new_page()
    log_in(page, conveyor, "op")
    run_id = trigger(page, conveyor, "ti_mapped")
    expect(
        page.locator(f'#grid .cell[data-run-id="{run_id}"][data-task-id="each"]')
    ).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    context.close()
    context = _context(browser)
    page = context.new_page()
    log_in(page, conveyor, "viewer")
    page.goto(ti_url(conveyor, "ti_mapped", run_id, "each") + "/mapped/0")
    expect(page.locator("#log")).to_contain_text("instance with x=0", timeout=WAIT_MS)
    expect(page.locator("#ti-actions button")).to_have_count(0)
    expect(page.locator("#notes button")).to_have_count(0)
    refused = page.request.post(
        f"{conveyor.url}/api/v1/dags/ti_mapped/runs/{run_id}/tasks/each/mapped/0/mark",
        data={"state": "failed"},
        headers={
            "X-CSRF-Token": page.locator("meta[name=csrf-token]").get_attribute("content") or ""
        },
    )
    assert refused.status == 403
    context.close()


def test_the_log_viewer_xcom_and_rendered_templates_and_notes(
    page: Page, browser: Browser, conveyor: Conveyor
) -> None:
    flags: Path = conveyor.root / "flags"
    log_in(page, conveyor, "op")
    run_id = trigger(page, conveyor, "ti_detail")

    # A task with no try yet: says so, and shows no (black) log box.
    page.goto(ti_url(conveyor, "ti_detail", run_id, "templated"))
    expect(page.locator("#log-none")).to_be_visible()
    expect(page.locator("#log-none")).to_contain_text("No try yet")
    expect(page.locator("#log")).to_be_hidden()

    # The running try's log, a time on every line.
    page.goto(ti_url(conveyor, "ti_detail", run_id, "slow"))
    log = page.locator("#log")
    expect(log).to_contain_text("plain line from try 1", timeout=WAIT_MS)
    expect(log).to_contain_text("stamped line from try 1")
    lines = log.locator(".ll")
    for index in range(lines.count()):
        expect(lines.nth(index).locator(".lt")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))

    # Search: highlighted, and Enter jumps to the match.
    page.fill("#log-search", "plain line")
    expect(log.locator("mark")).to_have_count(1)
    page.press("#log-search", "Enter")
    expect(log.locator("mark.current")).to_have_count(1)
    expect(page.locator("#log-matches")).to_have_text("1 of 1")

    # Wrap toggle.
    expect(log).not_to_have_class(re.compile(r"\bnowrap\b"))
    page.uncheck("#log-wrap")
    expect(log).to_have_class(re.compile(r"\bnowrap\b"))

    # Download: the raw text.
    with page.expect_download() as download:
        page.click("#log-download")
    saved = Path(download.value.path()).read_text()
    assert "plain line from try 1" in saved and "<" not in saved

    # A retry starts while the page is open: the log follows the new try by itself.
    (flags / "go1").touch()
    expect(page.locator("#log-try")).to_have_value("2", timeout=WAIT_MS)
    expect(log).to_contain_text("plain line from try 2", timeout=WAIT_MS)
    expect(log).not_to_contain_text("plain line from try 1")
    (flags / "go2").touch()
    expect(page.locator("#ti-state [data-state]")).to_have_attribute(
        "data-state", "success", timeout=WAIT_MS
    )
    # The try menu is labelled, and a try chosen in it is named in the address.
    expect(page.get_by_label("Try", exact=True)).to_have_value("2")
    page.select_option("#log-try", "1")
    expect(page).to_have_url(re.compile(r"[?&]try=1\b"))
    expect(log).to_contain_text("plain line from try 1", timeout=WAIT_MS)
    page.select_option("#log-try", "2")
    expect(page).not_to_have_url(re.compile(r"[?&]try="))

    # XCom tab: keys and values, and a URL of its own.
    page.click('#ti-tabs a[data-tab="xcom"]')
    expect(page).to_have_url(re.compile(r"\?tab=xcom$"))
    table = page.locator("#xcom-table")
    expect(table.locator('tr[data-key="return_value"]')).to_contain_text('"answer": 42')
    expect(table.locator('tr[data-key="extra"]')).to_contain_text('"rows": 3')
    page.reload()
    expect(page.locator("#xcom-panel")).to_be_visible()
    expect(page.locator("#log-panel")).to_be_hidden()

    # Rendered templates of the downstream task, once it has run.
    page.goto(ti_url(conveyor, "ti_detail", run_id, "templated"))
    expect(page.locator("#ti-state [data-state]")).to_have_attribute(
        "data-state", "success", timeout=WAIT_MS
    )
    page.click('#ti-tabs a[data-tab="rendered"]')
    expect(page.locator('#rendered-table tr[data-field="bash_command"]')).to_contain_text(
        "echo hello done", timeout=WAIT_MS
    )

    # Notes: an op writes one on the run and one on the task instance.
    page.click('[data-action="edit-run-note-box"]')
    page.fill("#run-note-box textarea", "rerun after the vendor fix")
    page.click('#run-note-box [data-action="save-note"]')
    expect(page.locator("#run-note")).to_have_text("rerun after the vendor fix")
    page.click('[data-action="edit-ti-note-box"]')
    page.fill("#ti-note-box textarea", "checked the output by hand")
    page.click('#ti-note-box [data-action="save-note"]')
    expect(page.locator("#ti-note")).to_have_text("checked the output by hand")
    run = api(page, conveyor, f"dags/ti_detail/runs/{run_id}")
    assert run["user_note"] == "rerun after the vendor fix"
    ti = api(page, conveyor, f"dags/ti_detail/runs/{run_id}/tasks/templated")
    assert ti["user_note"] == "checked the output by hand"

    # A viewer reads the notes, with no button to change them.
    context = _context(browser)
    viewer = context.new_page()
    log_in(viewer, conveyor, "viewer")
    viewer.goto(ti_url(conveyor, "ti_detail", run_id, "templated"))
    expect(viewer.locator("#run-note")).to_have_text("rerun after the vendor fix")
    expect(viewer.locator("#ti-note")).to_have_text("checked the output by hand")
    expect(viewer.locator("#notes button")).to_have_count(0)
    context.close()


def test_a_callback_error_is_shown_on_the_task_page(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "op")
    run_id = trigger(page, conveyor, "ti_callback")
    page.goto(ti_url(conveyor, "ti_callback", run_id, "fine"))
    expect(page.locator("#ti-state [data-state]")).to_have_attribute(
        "data-state", "success", timeout=WAIT_MS
    )
    box = page.locator("#callback-errors")
    expect(box).to_contain_text(
        "Try 1: on_success_callback broken raised KeyError: 'channel'", timeout=WAIT_MS
    )
    # And in the try's timeline, by its kind.
    expect(page.locator("#tries .k-callback_failed")).to_have_count(1)


def test_the_grid_orders_runs_by_logical_date(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "op")
    # The later date first, then a backfill of an earlier one.
    trigger(page, conveyor, "ti_mapped", "late_run", "2026-01-10T00:00:00")
    trigger(page, conveyor, "ti_mapped", "early_run", "2026-01-05T00:00:00")
    bars = page.locator("#grid a.run-bar")
    expect(page.locator('#grid a.run-bar[data-run-id="early_run"]')).to_be_visible()
    order = [bars.nth(i).get_attribute("data-run-id") for i in range(bars.count())]
    assert order.index("early_run") < order.index("late_run"), order


def test_the_dag_header_follows_a_pause_made_elsewhere(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "viewer")
    page.goto(f"{conveyor.url}/dags/ti_detail")
    label = page.locator("#pause-label")
    expect(label).to_have_text("active")
    page.evaluate("window.__sameDocument = true")
    conveyor.cli("dags", "pause", "ti_detail")
    try:
        expect(label).to_have_text("paused", timeout=WAIT_MS)
        expect(page.locator("#pause-switch")).not_to_be_checked()
        assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    finally:
        conveyor.cli("dags", "unpause", "ti_detail")
    expect(label).to_have_text("active", timeout=WAIT_MS)


def test_a_phone_wide_top_bar_keeps_the_user_and_log_out(
    browser: Browser, conveyor: Conveyor
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, conveyor, "op")
    for selector in (".session .who", ".session button[type=submit]"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (selector, box)
    # Nothing of the bar itself is pushed out (the nav row scrolls inside it instead).
    assert page.evaluate(
        "(() => { const bar = document.querySelector('.topbar'); "
        "return bar.scrollWidth <= bar.clientWidth; })()"
    )
    page.click(".session button[type=submit]")
    expect(page).to_have_url(re.compile(r"/login"))
    context.close()


def test_the_api_link_opens_a_new_tab_and_keeps_the_app(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "viewer")
    with page.context.expect_page() as opened:
        page.click(".mainnav a:has-text('API')")
    docs = opened.value
    docs.wait_for_load_state()
    assert docs.url.endswith("/api/v1/docs"), docs.url
    expect(page.locator("#dag-table")).to_be_visible()  # the app is still there


# -- Stop: a running BashOperator (sleep 300 under its shell) and a running run ------


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def _trigger(page: Page, servers: Conveyor) -> tuple[str, list[int]]:
    """A run of ti_stop whose shell and sleep run; its run id and their pids."""
    for old in (servers.root / "pids").iterdir():
        old.unlink()
    page.goto(f"{servers.url}/dags/ti_stop/trigger")
    page.click("#trigger-submit")
    page.wait_for_url("**/dags/ti_stop?run=*", timeout=WAIT_MS)
    run_id = str(page.evaluate("new URLSearchParams(location.search).get('run')"))
    deadline = time.monotonic() + 60
    while len(list((servers.root / "pids").iterdir())) < 2:
        assert time.monotonic() < deadline, servers.logs()
        time.sleep(0.1)
    time.sleep(0.1)  # the second file's pid is written
    pids = [int(p.read_text()) for p in (servers.root / "pids").iterdir()]
    assert all(_alive(pid) for pid in pids)
    return run_id, pids


def _gone(pids: list[int], within: float) -> bool:
    deadline = time.monotonic() + within
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_stop_on_a_running_task_instance_stops_its_process_and_fails_it(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "op")
    run_id, pids = _trigger(page, conveyor)
    page.goto(f"{conveyor.url}/dags/ti_stop/runs/{run_id}/tasks/sleepy")
    state = page.locator("#ti-state [data-state]")
    expect(state).to_have_attribute("data-state", "running", timeout=WAIT_MS)
    page.click('#ti-actions [data-action="stop"]')
    expect(page.locator("#action-stopped")).to_contain_text("sleepy", timeout=WAIT_MS)
    page.click('#action-dialog [data-action="confirm"]')
    expect(state).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    assert _gone(pids, 15), "the shell or its sleep still runs after Stop"
    expect(page.locator('#ti-actions [data-action="stop"]')).to_have_count(0)
    # The followed log gets the line written as the try was stopped (after it ended in the
    # store), without a reload.
    expect(page.locator("#log")).to_contain_text("calling the task's on_kill()", timeout=WAIT_MS)


def test_stop_run_on_a_running_run_stops_its_try(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "op")
    run_id, pids = _trigger(page, conveyor)
    page.goto(f"{conveyor.url}/dags/ti_stop?run={run_id}")
    bar = page.locator(f'#grid a.run-bar[data-run-id="{run_id}"]')
    expect(bar).to_have_attribute("data-state", "running", timeout=WAIT_MS)
    bar.click()
    page.click('[data-action="run-stop"]')
    expect(page.locator("#action-stopped")).to_contain_text("sleepy", timeout=WAIT_MS)
    page.click('#action-dialog [data-action="confirm"]')
    cell = page.locator(f'#grid .cell[data-run-id="{run_id}"][data-task-id="sleepy"]')
    expect(cell).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    assert _gone(pids, 15), "the shell or its sleep still runs after Stop run"
    expect(bar).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
