"""A DAG's versions and the backfill form in a real browser (Debian's chromium driven by
Playwright) against a real ``conveyor scheduler`` and ``conveyor web`` (SQLite): a viewer
reads the versions, a version's code and the diff by clicking and is offered no backfill;
an op backfills from the DAG page (bad dates answered on the page) and opens a run's code;
an admin backfills with a conf and compares two versions from the versions page.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, sign_in, started

from conveyor.config import load_config
from conveyor.exceptions import NotFoundError
from conveyor.store.engine import Store
from conveyor.store.reads import versions

ui_servers.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(240)

WAIT_MS = 30_000
ADMIN_PASSWORD = "admin-secret-1"
DAG = "versioned_ui"
V1 = textwrap.dedent(
    f"""
    from datetime import datetime

    from conveyor import DAG, BashOperator

    with DAG("{DAG}", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False):
        BashOperator(task_id="hello", bash_command="echo one <b>")
    """
)
V2 = V1.replace('"echo one <b>"', '"echo two & more"') + (
    '    BashOperator(task_id="extra", bash_command="true")\n'
)


@dataclass
class Versioned:
    servers: Conveyor
    old: str  # the hashes of the two versions
    new: str
    run_id: str  # a manual run of the old version


def _versions(store: Store, count: int, limit: float = 60.0) -> list[str]:
    """The DAG's version hashes (newest first) once the scheduler has parsed ``count``."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with store.read() as conn:
            try:
                found = [v.version_hash for v in versions.versions_of(conn, DAG)]
            except NotFoundError:  # not parsed yet
                found = []
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{DAG} did not reach {count} versions within {limit:g}s")


browser = ui_servers.browser_fixture()


@pytest.fixture(scope="module")
def versioned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Versioned]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        servers.add_admin(ADMIN_PASSWORD)
        store = Store(load_config(servers.env).settings.db_url)
        try:
            (servers.dags_folder / f"{DAG}.py").write_text(V1)
            [old] = _versions(store, 1)
            triggered = servers.cli("dags", "trigger", DAG, "--run-id", "manual_on_v1")
            assert "manual_on_v1" in triggered.stdout
            (servers.dags_folder / f"{DAG}.py").write_text(V2)
            new = _versions(store, 2)[0]
            yield Versioned(servers, old, new, "manual_on_v1")
        finally:
            store.dispose()


page = ui_servers.page_fixture(blank_after=True)  # the live grid polls


def log_in(page: Page, servers: Conveyor, role: str) -> None:
    sign_in(page, servers.url, role, ADMIN_PASSWORD if role == "admin" else PASSWORDS[role])


def api_get(page: Page, servers: Conveyor, path: str) -> Any:
    response = page.request.get(f"{servers.url}/api/v1/{path}")
    assert response.ok, response.text()
    return response.json()


def backfill(page: Page, start: str, end: str, *, reprocess: str = "", conf: str = "") -> None:
    """Fill the DAG page's backfill form and send it."""
    form = page.locator("#backfill")
    if form.get_attribute("open") is None:
        page.click("#backfill summary")
    page.fill("#backfill-start", start)
    page.fill("#backfill-end", end)
    if reprocess:
        page.select_option("#backfill-reprocess", reprocess)
    page.fill("#backfill-conf", conf)
    page.click("#backfill-submit")


def test_a_viewer_reads_versions_code_and_diffs(page: Page, versioned: Versioned) -> None:
    servers = versioned.servers
    log_in(page, servers, "viewer")
    page.goto(f"{servers.url}/dags/{DAG}")
    expect(page.locator("#backfill")).to_have_count(0)  # no form for a viewer
    page.click("nav.tabs >> text=Versions")
    expect(page).to_have_url(re.compile(rf"/dags/{DAG}/versions$"))
    rows = page.locator("#versions tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("current")
    # Its runs: the manual one, and the scheduler's own if it made one before the change.
    listed = api_get(page, servers, f"dags/{DAG}/runs?limit=100")["runs"]
    pinned = [r["run_id"] for r in listed if r["version_hash"] == versioned.old]
    assert versioned.run_id in pinned
    expect(rows.nth(1).locator(".run-count")).to_have_text(str(len(pinned)))

    rows.nth(1).locator("a").first.click()
    expect(page).to_have_url(re.compile(rf"/dags/{DAG}/versions/{versioned.old}$"))
    expect(page.locator("#source")).to_contain_text('bash_command="echo one <b>"')
    assert page.locator("#source b").count() == 0  # the code is text, never markup
    expect(page.locator("footer")).to_have_text(re.compile(r"^Conveyor \S+$"))
    expect(page.locator("#version-runs")).to_contain_text(versioned.run_id)

    page.click("#diff-current")
    expect(page).to_have_url(re.compile(rf"/versions/{versioned.old}/diff/{versioned.new}$"))
    changed = page.locator("table.diff tr.changed")
    expect(changed.first.locator("td.old")).to_contain_text("echo one <b>")
    expect(changed.first.locator("td.new")).to_contain_text("echo two & more")
    expect(page.locator("table.diff tr.added", has_text='task_id="extra"')).to_have_count(1)
    assert page.locator("table.diff b").count() == 0
    page.click("#view-unified")
    expect(page).to_have_url(re.compile(r"\?view=unified$"))
    expect(page.locator("pre.diff .removed", has_text="echo one <b>")).to_have_count(1)
    expect(page.locator("pre.diff .added", has_text="echo two & more")).to_have_count(1)

    # The API refuses the viewer a backfill too, with the reason.
    token = page.get_attribute('meta[name="csrf-token"]', "content") or ""
    refused = page.request.post(
        f"{servers.url}/api/v1/dags/{DAG}/backfills",
        data={"start": "2025-01-01", "end": "2025-01-02"},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status == 403 and "needs 'op'" in refused.json()["detail"]


def test_an_op_backfills_from_the_dag_page(page: Page, versioned: Versioned) -> None:
    servers = versioned.servers
    log_in(page, servers, "op")
    page.goto(f"{servers.url}/dags/{DAG}")
    backfill(page, "2025-02-30", "2025-03-01")
    expect(page.locator("#backfill-error")).to_contain_text("start: '2025-02-30' is not a date")
    backfill(page, "2025-01-05", "2025-01-01")
    expect(page.locator("#backfill-error")).to_contain_text("is before start")
    backfill(page, "2025-01-01", "2025-01-03")
    expect(page.locator("#backfill-done")).to_contain_text("3 runs created")
    expect(page.locator("#backfill-error")).to_be_hidden()
    for day in (1, 2, 3):
        bar = page.locator(
            f'#grid a.run-bar[data-run-id="backfill__2025-01-0{day}T00:00:00+00:00"]'
        )
        expect(bar).to_have_count(1, timeout=WAIT_MS)
    # The same range again keeps the runs it made.
    backfill(page, "2025-01-01", "2025-01-03")
    expect(page.locator("#backfill-done")).to_contain_text("0 runs created, 0 to run again, 3 kept")
    audit = api_get(page, servers, "audit?action=dag.backfill&actor=op")["entries"]
    assert [e["details"]["created"] for e in audit] == [0, 3]
    assert all(e["dag_id"] == DAG for e in audit)


def test_an_op_opens_the_code_a_run_ran_with(page: Page, versioned: Versioned) -> None:
    servers = versioned.servers
    log_in(page, servers, "op")
    page.goto(f"{servers.url}/dags/{DAG}")
    page.locator(f'#grid a.run-bar[data-run-id="{versioned.run_id}"]').click()
    expect(page.locator("#run-version")).to_have_text(versioned.old[:12], timeout=WAIT_MS)
    page.click("#run-code")
    expect(page).to_have_url(re.compile(rf"/versions/{versioned.old}\?run={versioned.run_id}$"))
    expect(page.locator("#as-of-run")).to_contain_text(versioned.run_id)
    expect(page.locator("#source")).to_contain_text("echo one <b>")


def test_an_admin_backfills_with_conf_and_compares_versions(
    page: Page, versioned: Versioned
) -> None:
    servers = versioned.servers
    log_in(page, servers, "admin")
    page.goto(f"{servers.url}/dags/{DAG}")
    backfill(page, "2025-03-01", "2025-03-02", conf='{"who": "admin"')
    expect(page.locator("#backfill-error")).to_contain_text("conf: not valid JSON")
    backfill(page, "2025-03-01", "2025-03-02", conf='{"who": "admin"}', reprocess="all")
    expect(page.locator("#backfill-done")).to_contain_text("2 runs created")
    run = api_get(page, servers, f"dags/{DAG}/runs/backfill__2025-03-01T00:00:00+00:00")
    assert run["conf"] == {"who": "admin"} and run["version_hash"] == versioned.new
    audit = api_get(page, servers, "audit?action=dag.backfill&actor=admin")["entries"]
    assert len(audit) == 1 and audit[0]["details"]["reprocess"] == "all"

    page.goto(f"{servers.url}/dags/{DAG}/versions")
    page.select_option("#compare-from", versioned.new)
    page.select_option("#compare-to", versioned.old)
    page.select_option("#compare-view", "unified")
    page.click("#compare-submit")
    expect(page).to_have_url(
        re.compile(rf"/versions/{versioned.new}/diff/{versioned.old}\?view=unified$")
    )
    # From the new version to the old one: the extra task is taken away.
    expect(page.locator("pre.diff .removed", has_text='task_id="extra"')).to_have_count(1)
    page.click("#swap")
    expect(page).to_have_url(re.compile(rf"/diff/{versioned.new}\?view=unified$"))


TABS = ["Grid", "Graph", "Durations", "Gantt", "Landing times", "Calendar", "Source", "Versions"]


def test_the_version_pages_have_the_dag_s_header_and_tabs(page: Page, versioned: Versioned) -> None:
    """The versions, a version and a diff show the DAG's header (its title, pause switch and
    facts, kept live) and every tab of its other pages, Versions open."""
    servers = versioned.servers
    log_in(page, servers, "op")
    for path in (
        "versions",
        f"versions/{versioned.old}",
        f"versions/{versioned.old}/diff/{versioned.new}",
    ):
        page.goto(f"{servers.url}/dags/{DAG}/{path}")
        expect(page.locator("#dag-title")).to_have_text(DAG)
        expect(page.locator(".facts").first).to_contain_text("Schedule")
        expect(page.locator("#trigger-button")).to_be_visible()
        expect(page.locator("nav.tabs a")).to_have_text(TABS)
        expect(page.locator("nav.tabs a.active")).to_have_text("Versions")
        assert page.locator("h1").count() == 1  # the page's own heading is under the DAG's
    # The header's switch works here as on the DAG page.
    switch = page.locator("#pause-switch")
    paused = not switch.is_checked()
    page.locator("label.switch").click()
    expect(page.locator("#pause-label")).to_have_text("active" if paused else "paused")
    dag = api_get(page, servers, f"dags/{DAG}")
    assert dag["is_paused"] is not paused
    page.locator("label.switch").click()  # back as it was
    expect(page.locator("#pause-label")).to_have_text("paused" if paused else "active")
    page.click("nav.tabs >> text=Gantt")
    expect(page).to_have_url(re.compile(rf"/dags/{DAG}/gantt$"))


def test_a_task_name_in_the_grid_opens_the_task(page: Page, versioned: Versioned) -> None:
    """A click on a task's name opens its task page: of the newest run that has it, or of
    the run selected in the grid."""
    servers = versioned.servers
    log_in(page, servers, "viewer")
    page.goto(f"{servers.url}/dags/{DAG}")
    bars = page.locator("#grid a.run-bar")
    expect(bars.first).to_be_visible(timeout=WAIT_MS)
    newest = bars.last.get_attribute("data-run-id") or ""
    name = page.locator('#grid a.task-link[data-task-id="hello"]')
    expect(name).to_have_text("hello")
    name.click()
    expect(page).to_have_url(re.compile(rf"/dags/{DAG}/runs/[^/]+/tasks/hello$"))
    assert page.url.split("/runs/")[1].split("/")[0] in (newest, newest.replace(":", "%3A"))
    expect(page.locator("h1")).to_contain_text("hello")

    page.goto(f"{servers.url}/dags/{DAG}")
    page.locator(f'#grid a.run-bar[data-run-id="{versioned.run_id}"]').click()
    page.locator('#grid a.task-link[data-task-id="hello"]').click()
    expect(page).to_have_url(re.compile(rf"/dags/{DAG}/runs/{versioned.run_id}/tasks/hello$"))
