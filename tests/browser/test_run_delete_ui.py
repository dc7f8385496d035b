"""Deleting a run from the UI, in a real browser (Debian's chromium driven by Playwright):
an op clicks the run's bar in the grid, then "Delete run", confirms, and the run is gone
from the grid and the API; a viewer is not offered the button. The servers are a real
``conveyor scheduler`` and ``conveyor web`` on a SQLite store, as in test_ui.py.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import re

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, sign_in

ui_servers.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(180)

#: Long enough for a slow, shared 2-core machine; a green run takes about 2 s.
WAIT_MS = 30_000


browser = ui_servers.browser_fixture()
conveyor = ui_servers.servers_fixture()
page = ui_servers.page_fixture()


def log_in(page: Page, servers: Conveyor, role: str) -> None:
    sign_in(page, servers.url, role, PASSWORDS[role])


def finished_run(page: Page, servers: Conveyor) -> str:
    """Trigger shop_orders from its form and wait on its grid until the run succeeded."""
    page.goto(f"{servers.url}/dags/shop_orders/trigger")
    page.click("#trigger-submit")
    expect(page).to_have_url(re.compile(r"/dags/shop_orders\?run="))
    run_id = str(page.evaluate("new URLSearchParams(location.search).get('run')"))
    bar = page.locator(f'#grid a.run-bar[data-run-id="{run_id}"]')
    expect(bar).to_have_attribute("data-state", "success", timeout=WAIT_MS)
    return run_id


def test_an_op_deletes_a_finished_run_from_its_details(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "op")
    kept = finished_run(page, conveyor)
    doomed = finished_run(page, conveyor)
    page.evaluate("window.__sameDocument = true")
    page.locator(f'#grid a.run-bar[data-run-id="{doomed}"]').click()
    expect(page.locator("#details-title")).to_have_text("Run")
    asked: list[str] = []

    def accept(dialog: object) -> None:
        asked.append(dialog.message)  # type: ignore[attr-defined]
        dialog.accept()  # type: ignore[attr-defined]

    page.once("dialog", accept)
    page.click("[data-action=delete-run]")
    expect(page.locator("#run-deleted")).to_contain_text(f"Run {doomed} was deleted.")
    assert asked and doomed in asked[0] and "cannot be undone" in asked[0]
    expect(page.locator(f'#grid a.run-bar[data-run-id="{doomed}"]')).to_have_count(
        0, timeout=WAIT_MS
    )
    expect(page.locator(f'#grid a.run-bar[data-run-id="{kept}"]')).to_have_count(1)
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    gone = page.request.get(f"{conveyor.url}/api/v1/dags/shop_orders/runs/{doomed}")
    assert gone.status == 404
    assert page.request.get(f"{conveyor.url}/api/v1/dags/shop_orders/runs/{kept}").ok


def test_a_viewer_is_not_offered_the_delete_button(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "op")
    run_id = finished_run(page, conveyor)
    page.goto("about:blank")  # a live page whose poll is refused would go to /login itself
    page.context.clear_cookies()
    log_in(page, conveyor, "viewer")
    page.goto(f"{conveyor.url}/dags/shop_orders")
    page.locator(f'#grid a.run-bar[data-run-id="{run_id}"]').click()
    expect(page.locator("#details-title")).to_have_text("Run")
    expect(page.locator("#details-body")).to_contain_text(run_id)
    expect(page.locator("[data-action=delete-run]")).to_have_count(0)
