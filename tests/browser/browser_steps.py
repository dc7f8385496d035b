"""Steps the browser tests share: logging in through the form as one of the test users."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from ui_servers import PASSWORDS, Conveyor


def log_in(
    page: Page, servers: Conveyor, role: str = "op", timeout_ms: float | None = None
) -> None:
    """Log in through the login form as ``role`` and wait for the DAG list."""
    page.goto(f"{servers.url}/login")
    page.fill("#username", role)
    page.fill("#password", PASSWORDS[role])
    page.click("button[type=submit]")
    expect(page.locator("#dag-table")).to_be_visible(timeout=timeout_ms)
