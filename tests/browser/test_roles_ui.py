"""The Roles admin page in a real browser against a real ``conveyor web``: an admin makes a
named role, grants it one DAG and gives it to a user on the Users page (no built-in role,
that named role ticked); that user then sees that DAG alone, and the others' pages are not
found.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import ui_servers
from ui_servers import Conveyor, sign_in, started

ui_servers.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(180)

ADMIN_PASSWORD = "admin-secret-1"
TESS_PASSWORD = "tess-secret-12"

browser = ui_servers.browser_fixture()
page = ui_servers.page_fixture(accept_dialogs=True)  # "Delete ...?" confirmations


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        servers.cli(
            "users", "create", "admin", "--role", "admin", "--password-stdin", stdin=ADMIN_PASSWORD
        )
        servers.cli(
            "users", "create", "tess", "--role", "viewer", "--password-stdin", stdin=TESS_PASSWORD
        )
        yield servers


def test_an_admin_gives_a_user_one_dag_through_the_roles_page(
    page: Page, conveyor: Conveyor
) -> None:
    sign_in(page, conveyor.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{conveyor.url}/admin/roles")
    page.fill("#role-name", "billing_team")
    page.click("#role-form button[type=submit]")
    row = page.locator('#roles tr[data-role="billing_team"]')
    expect(row).to_be_visible()
    page.select_option("#permission-role", "billing_team")
    page.select_option("#permission-action", "can_read")
    page.fill("#permission-resource", "DAG:nightly_billing")
    page.click("#permission-form button[type=submit]")
    expect(row).to_contain_text("can_read on DAG:nightly_billing")
    page.click("#roles-where a")  # the roles are given on the Users page
    page.select_option('select[data-role-of="tess"]', "public")
    expect(page.locator(".toast", has_text="tess now holds no role")).to_be_visible()
    page.locator('[data-named-roles-of="tess"] input[value="billing_team"]').check()
    expect(page.locator(".toast", has_text="tess now holds billing_team")).to_be_visible()
    page.goto(f"{conveyor.url}/admin/roles")
    expect(row.locator("td").nth(3)).to_have_text("1")

    reader = page.context.browser.new_page()  # type: ignore[union-attr]
    try:
        sign_in(reader, conveyor.url, "tess", TESS_PASSWORD)
        expect(reader.locator("#dag-table tr[data-dag-id]")).to_have_count(1)
        expect(reader.locator('#dag-table tr[data-dag-id="nightly_billing"]')).to_be_visible()
        answer = reader.goto(f"{conveyor.url}/dags/shop_orders")
        assert answer is not None and answer.status == 404
        expect(reader.locator("h1")).to_have_text("Not found")
    finally:
        reader.close()

    row.get_by_role("button", name="take back").click()
    expect(row).to_contain_text("none here")
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
