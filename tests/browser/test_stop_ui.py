"""Stop in a real browser (Debian's chromium driven by Playwright) against a real
``conveyor scheduler`` (local executor) and ``conveyor web``: an op clicks Stop on a running
BashOperator (``sleep 300`` under its shell), confirms, sees the task instance failed, and
the shell and its ``sleep`` are gone; a running run's Stop run marks it failed.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, sign_in, started

ui_servers.require_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(240)

WAIT_MS = 45_000

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
        pids = servers.root / "pids"
        pids.mkdir()
        (servers.dags_folder / "ti_stop.py").write_text(
            textwrap.dedent(STOP_DAG).format(pids=str(pids))
        )
        deadline = time.monotonic() + 60
        while "ti_stop" not in servers.cli("dags", "list").stdout:
            assert time.monotonic() < deadline, servers.logs()
            time.sleep(0.2)
        servers.cli("dags", "unpause", "ti_stop")
        yield servers


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    assert not errors, f"errors on the page: {errors}"


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
    sign_in(page, conveyor.url, "op", PASSWORDS["op"], WAIT_MS)
    run_id, pids = _trigger(page, conveyor)
    page.goto(f"{conveyor.url}/dags/ti_stop/runs/{run_id}/tasks/sleepy")
    state = page.locator("#ti-state [data-state]")
    expect(state).to_have_attribute("data-state", "running", timeout=WAIT_MS)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('#ti-actions [data-action="stop"]')
    expect(state).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    assert _gone(pids, 15), "the shell or its sleep still runs after Stop"
    expect(page.locator('#ti-actions [data-action="stop"]')).to_have_count(0)


def test_stop_run_on_a_running_run_stops_its_try(page: Page, conveyor: Conveyor) -> None:
    sign_in(page, conveyor.url, "op", PASSWORDS["op"], WAIT_MS)
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
