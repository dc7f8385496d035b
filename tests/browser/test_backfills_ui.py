"""A DAG's backfills in a real browser (Debian's chromium driven by Playwright) against a
real ``conveyor scheduler`` and ``conveyor web``: the DAG page's Backfills panel lists them;
an op pauses, unpauses and cancels one with its buttons, and the store says so; a viewer
sees the list and no button.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, sign_in, started

from conveyor.backfill import Backfill
from conveyor.config import load_config
from conveyor.store import backfills
from conveyor.store.backfills import BackfillRow
from conveyor.store.engine import Store

ui_servers.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(180)

WAIT_MS = 30_000

browser = ui_servers.browser_fixture()
page = ui_servers.page_fixture()


def _store(servers: Conveyor) -> Store:
    return Store(load_config(servers.env).settings.db_url)


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        yield servers


@pytest.fixture(scope="module")
def backfill_id(conveyor: Conveyor) -> int:
    """A backfill of hourly_sync over two days (49 runs), one run at a time: long enough
    that it is still going on when the buttons are clicked."""
    store = _store(conveyor)
    try:
        job = Backfill(
            store,
            "hourly_sync",
            datetime(2025, 11, 1, tzinfo=UTC),
            datetime(2025, 11, 3, tzinfo=UTC),
            max_active=1,
            triggering_user="ann",
        )
        return job.create()
    finally:
        store.dispose()


def _stored(conveyor: Conveyor, backfill_id: int) -> tuple[BackfillRow, dict[str, int]]:
    store = _store(conveyor)
    try:
        with store.read() as conn:
            found = backfills.get(conn, backfill_id)
            counts = backfills.run_counts(conn, [backfill_id])[backfill_id]
    finally:
        store.dispose()
    assert found is not None
    return found, counts


def test_an_op_pauses_unpauses_and_cancels_a_backfill(
    page: Page, conveyor: Conveyor, backfill_id: int
) -> None:
    sign_in(page, conveyor.url, "op", PASSWORDS["op"])
    page.goto(f"{conveyor.url}/dags/hourly_sync")
    row = page.locator(f'#backfills tr[data-backfill-id="{backfill_id}"]')
    expect(row).to_have_attribute("data-state", "running", timeout=WAIT_MS)
    expect(row.locator("td").nth(6)).to_have_text("ann")

    row.locator("[data-action=pause]").click()
    expect(row).to_have_attribute("data-state", "paused", timeout=WAIT_MS)
    found, _ = _stored(conveyor, backfill_id)
    assert found.is_paused and found.completed_at is None

    row.locator("[data-action=unpause]").click()
    expect(row).to_have_attribute("data-state", "running", timeout=WAIT_MS)
    assert not _stored(conveyor, backfill_id)[0].is_paused

    asked: list[str] = []

    def accept(dialog: object) -> None:
        asked.append(dialog.message)  # type: ignore[attr-defined]
        dialog.accept()  # type: ignore[attr-defined]

    page.once("dialog", accept)
    row.locator("[data-action=cancel]").click()
    expect(row).to_have_attribute("data-state", "completed", timeout=WAIT_MS)
    assert asked and f"Cancel backfill {backfill_id}?" in asked[0]
    expect(row.locator("button")).to_have_count(0)
    found, counts = _stored(conveyor, backfill_id)
    assert found.completed_at is not None and found.is_paused
    assert "queued" not in counts and counts.get("failed", 0) >= 1  # the rest failed


def test_a_viewer_sees_the_backfills_and_no_button(
    page: Page, conveyor: Conveyor, backfill_id: int
) -> None:
    sign_in(page, conveyor.url, "viewer", PASSWORDS["viewer"])
    page.goto(f"{conveyor.url}/dags/hourly_sync")
    row = page.locator(f'#backfills tr[data-backfill-id="{backfill_id}"]')
    expect(row).to_have_count(1, timeout=WAIT_MS)
    expect(row.locator("td.runs")).not_to_have_text("none")
    expect(page.locator("#backfills button")).to_have_count(0)
