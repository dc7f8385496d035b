"""How a run came to be, in a real browser (Debian's chromium driven by Playwright) against a
real ``conveyor scheduler`` and ``conveyor web``: each run row and each run of the grid
carries a scheduled / manual / backfill / asset-triggered mark, and the runs list filters by
it, the filter kept in the URL. The Durations tab, which reads the runs alone until a task
is picked, draws the runs' bars and then the picked task's. A run that missed a deadline has
its grid bar marked, and its panel lists the deadline and the run's partition key.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import ui_servers
from sqlalchemy import insert
from ui_servers import PASSWORDS, Conveyor, sign_in, started

from conveyor.config import load_config
from conveyor.store.engine import Store
from conveyor.store.runs import create_run, latest_version
from conveyor.store.tables import run_deadline

ui_servers.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(180)

WAIT_MS = 30_000
#: run id -> run type, one of each, for hourly_sync.
RUNS = {
    "sched-1": "scheduled",
    "manual-1": "manual",
    "back-1": "backfill",
    "asset-1": "dataset_triggered",
}

browser = ui_servers.browser_fixture()
page = ui_servers.page_fixture()


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        seed_runs(servers)
        yield servers


def seed_runs(servers: Conveyor) -> None:
    """One run of each type, as the scheduler, a trigger, a backfill and an asset make them."""
    store = Store(load_config(servers.env).settings.db_url)
    try:
        with store.write() as conn:
            version, structure = latest_version(conn, "hourly_sync")
            for day, (run_id, run_type) in enumerate(RUNS.items(), start=1):
                start = datetime(2026, 1, day, tzinfo=UTC)  # after its start_date
                create_run(
                    conn,
                    dag_id="hourly_sync",
                    version_hash=version,
                    structure=structure,
                    run_type=run_type,
                    logical_date=start,
                    interval=(start, start + timedelta(hours=1)),
                    run_id=run_id,
                    created_by="test",
                )
            late = datetime(2026, 1, 5, tzinfo=UTC)  # a partition's run past its deadline
            late_pk = create_run(
                conn,
                dag_id="hourly_sync",
                version_hash=version,
                structure=structure,
                run_type="manual",
                logical_date=late,
                interval=(late, late),
                run_id="late-1",
                created_by="test",
                partition_key="2026-01-05",
            )
            conn.execute(
                insert(run_deadline).values(
                    run_pk=late_pk,
                    alert_index=0,
                    name="by noon",
                    reference="DagRunQueuedAtDeadline",
                    deadline_at=late + timedelta(hours=12),
                    state="missed",
                    decided_at=late + timedelta(hours=12),
                )
            )
    finally:
        store.dispose()


def test_each_run_row_says_how_the_run_came_to_be(page: Page, conveyor: Conveyor) -> None:
    sign_in(page, conveyor.url, "viewer", PASSWORDS["viewer"])
    page.goto(f"{conveyor.url}/runs?dag_id_pattern=hourly_sync")
    for run_id, run_type in RUNS.items():
        mark = page.locator(f'#list-rows tr[data-run-id="{run_id}"] .run-type')
        expect(mark).to_have_attribute("data-run-type", run_type, timeout=WAIT_MS)
    asset = page.locator('#list-rows tr[data-run-id="asset-1"] .run-type')
    expect(asset).to_contain_text("asset-triggered")


def test_the_runs_list_filters_by_run_type(page: Page, conveyor: Conveyor) -> None:
    sign_in(page, conveyor.url, "viewer", PASSWORDS["viewer"])
    page.goto(f"{conveyor.url}/runs")
    page.select_option('#filters select[name="run_type"]', "backfill")
    page.click("#apply-filters")
    expect(page).to_have_url(re.compile(r"run_type=backfill"))
    rows = page.locator("#list-rows tr[data-run-id]")
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    expect(rows).to_have_attribute("data-run-id", "back-1")
    # The filter comes back from the URL.
    page.reload()
    expect(page.locator('#filters select[name="run_type"]')).to_have_value("backfill")
    expect(rows).to_have_count(1, timeout=WAIT_MS)


def test_the_grid_marks_each_run_with_its_type(page: Page, conveyor: Conveyor) -> None:
    sign_in(page, conveyor.url, "viewer", PASSWORDS["viewer"])
    page.goto(f"{conveyor.url}/dags/hourly_sync")
    for run_id, run_type in RUNS.items():
        bar = page.locator(f'#grid a.run-bar[data-run-id="{run_id}"]')
        expect(bar).to_have_count(1, timeout=WAIT_MS)
        mark = page.locator(f'#grid th.run:has(a.run-bar[data-run-id="{run_id}"]) .run-type')
        expect(mark).to_have_attribute("data-run-type", run_type)
        # A shape the page draws, no glyph that needs an emoji font.
        expect(mark.locator("svg.run-shape")).to_have_count(1)
        expect(mark).to_have_text("")
    page.locator('#grid a.run-bar[data-run-id="back-1"]').click()
    expect(page.locator("#details-body .run-type")).to_contain_text("backfill")


def test_durations_draw_the_runs_then_the_picked_task(page: Page, conveyor: Conveyor) -> None:
    sign_in(page, conveyor.url, "viewer", PASSWORDS["viewer"])
    page.goto(f"{conveyor.url}/runs?dag_id_pattern=hourly_sync")
    for run_id in RUNS:  # the scheduler may add a run of its own: only these are awaited
        row = page.locator(f'#list-rows tr[data-run-id="{run_id}"]')
        expect(row).to_have_attribute("data-state", "success", timeout=WAIT_MS)
    page.goto(f"{conveyor.url}/dags/hourly_sync/durations")
    for run_id in RUNS:
        bar = page.locator(f'#durations rect.dur[data-run-id="{run_id}"]')
        expect(bar).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator("#durations")).to_contain_text(re.compile(r"\d+ runs ·"))
    with page.expect_response(lambda r: "/grid?" in r.url and "task_id=push" in r.url):
        page.select_option("#duration-task", "push")
    expect(page.locator("#durations")).to_contain_text(re.compile(r"\d+ tries ·"), timeout=WAIT_MS)
    for run_id in RUNS:
        expect(page.locator(f'#durations rect.dur[data-run-id="{run_id}"]')).to_have_count(1)


def test_the_grid_marks_a_run_that_missed_its_deadline_and_its_panel_lists_it(
    page: Page, conveyor: Conveyor
) -> None:
    sign_in(page, conveyor.url, "viewer", PASSWORDS["viewer"])
    page.goto(f"{conveyor.url}/dags/hourly_sync")
    late = page.locator('#grid a.run-bar[data-run-id="late-1"]')
    expect(late).to_have_class(re.compile(r"\bdeadline-missed\b"), timeout=WAIT_MS)
    expect(late).to_have_attribute("title", re.compile("deadline missed"))
    on_time = page.locator('#grid a.run-bar[data-run-id="manual-1"]')
    expect(on_time).not_to_have_class(re.compile("deadline-missed"))
    late.click()
    deadline = page.locator("#details-body .run-deadline")
    expect(deadline).to_have_attribute("data-deadline", "missed", timeout=WAIT_MS)
    expect(deadline).to_contain_text("missed")
    expect(deadline).to_contain_text("by noon")
    expect(page.locator("#run-partition")).to_have_text("2026-01-05")
