"""The main pages at 1,024 x 768, in a real browser (Debian's chromium driven by Playwright)
against a real ``conveyor scheduler`` and ``conveyor web``: no page is wider than the window;
a table wider than its panel scrolls inside the panel, or wraps.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import ui_servers
from ui_servers import Conveyor, sign_in, started

ui_servers.require_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(240)

ADMIN_PASSWORD = "admin-secret-9"
PAGES = (
    "/",
    "/home",
    "/runs",
    "/task-instances",
    "/dags/shop_orders",
    "/dags/shop_orders/graph",
    "/dags/shop_orders/durations",
    "/dags/shop_orders/gantt",
    "/dags/shop_orders/calendar",
    "/dags/shop_orders/trigger",
    "/admin/connections",
    "/admin/variables",
    "/admin/pools",
    "/admin/users",
    "/admin/config",
    "/admin/providers",
    "/admin/plugins",
    "/audit",
    "/workers",
    "/assets",
)

LONG_RUN_ID = "nightly_reprocessing_of_the_eu_west_order_backlog_after_the_outage_" + "x" * 40

browser = ui_servers.browser_fixture()


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        servers.add_admin(ADMIN_PASSWORD)
        # Long ids make wide rows, as a real installation's do.
        servers.cli("dags", "trigger", "shop_orders", "--run-id", LONG_RUN_ID)
        yield servers


@pytest.fixture(scope="module")
def narrow(browser: Browser, conveyor: Conveyor) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    opened = context.new_page()
    sign_in(opened, conveyor.url, "admin", ADMIN_PASSWORD)
    yield opened
    opened.goto("about:blank")
    context.close()


@pytest.mark.parametrize("path", PAGES)
def test_no_page_is_wider_than_a_1024_pixel_window(
    narrow: Page, conveyor: Conveyor, path: str
) -> None:
    response = narrow.goto(f"{conveyor.url}{path}")
    assert response is not None and response.status == 200, path
    expect(narrow.locator("main, .page-head").first).to_be_visible()
    narrow.wait_for_load_state("networkidle")
    width = narrow.evaluate("document.documentElement.scrollWidth")
    wide = narrow.evaluate(
        """() => [...document.querySelectorAll('body *')]
             .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
             .slice(0, 5).map((e) => e.tagName + '#' + e.id + '.' + e.className)"""
    )
    assert width <= 1024, f"{path} is {width}px wide: {wide}"


def test_at_phone_width_the_grid_starts_on_the_first_screen(
    browser: Browser, conveyor: Conveyor
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    try:
        sign_in(phone, conveyor.url, "admin", ADMIN_PASSWORD)
        phone.goto(f"{conveyor.url}/dags/shop_orders")
        grid = phone.locator("#grid")
        expect(grid).to_be_visible()
        expect(phone.locator("#backfills")).not_to_have_attribute("open", "")
        box = grid.bounding_box()
        assert box is not None and box["y"] < 844, box
    finally:
        phone.goto("about:blank")
        context.close()
