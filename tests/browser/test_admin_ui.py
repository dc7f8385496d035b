"""The admin pages, the audit log, the home dashboard and dark mode in a real browser
(Debian's chromium driven by Playwright) against a real ``conveyor scheduler`` and
``conveyor web``: an admin does each job by clicking, an op reads what the API lets an op
read and is offered no button it may not use, a viewer is refused the pages it may not read.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, sign_in, started

ui_servers.require_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(180)

WAIT_MS = 30_000
ADMIN_PASSWORD = "admin-secret-1"


browser = ui_servers.browser_fixture()


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        servers.cli(
            "users", "create", "admin", "--role", "admin", "--password-stdin", stdin=ADMIN_PASSWORD
        )
        yield servers


page = ui_servers.page_fixture(accept_dialogs=True)  # "Delete ...?" confirmations


def log_in(page: Page, servers: Conveyor, role: str) -> None:
    sign_in(page, servers.url, role, ADMIN_PASSWORD if role == "admin" else PASSWORDS[role])


def api_get(page: Page, servers: Conveyor, path: str) -> dict[str, object]:
    response = page.request.get(f"{servers.url}/api/v1/{path}")
    assert response.ok, response.text()
    found: dict[str, object] = response.json()
    return found


def test_an_admin_manages_connections_without_seeing_passwords(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "admin")
    page.goto(f"{conveyor.url}/admin/connections")
    # The form follows the type typed, as the type's provider declares its fields.
    page.fill("#conn-type", "sqlite")
    expect(page.locator("#conn-port")).to_be_hidden()
    expect(page.locator('label[for="conn-host"]')).to_have_text("Database file")
    page.fill("#conn-id", "warehouse")
    page.fill("#conn-type", "postgresql")
    expect(page.locator("#conn-port")).to_be_visible()
    expect(page.locator('label[for="conn-schema"]')).to_have_text("Database")
    expect(page.locator("#conn-port")).to_have_attribute("placeholder", "5432")
    page.fill("#conn-host", "db.internal")
    page.fill("#conn-port", "5432")
    page.fill("#conn-login", "etl")
    page.fill("#conn-password", "pa55-word-xyz")
    page.fill("#conn-extra", '{"sslmode": "require"}')
    page.click("#conn-form button[type=submit]")
    row = page.locator('#connections tr[data-conn-id="warehouse"]')
    expect(row).to_contain_text("db.internal")
    expect(row).to_contain_text("***")
    assert "pa55-word-xyz" not in page.content()
    # Edit: the host changes, the password left empty stays what it was.
    row.get_by_role("button", name="Edit").click()
    expect(page.locator("#conn-id")).to_have_value("warehouse")
    expect(page.locator("#conn-password")).to_have_value("")
    page.fill("#conn-host", "db2.internal")
    page.click("#conn-form button[type=submit]")
    expect(row).to_contain_text("db2.internal")
    stored = api_get(page, conveyor, "connections/warehouse?reveal=true")
    assert stored["password"] == "pa55-word-xyz" and stored["extra"] == {"sslmode": "require"}
    # A bad extra is refused under the form, nothing saved.
    page.fill("#conn-id", "other")
    page.fill("#conn-type", "http")
    page.fill("#conn-extra", "{not json")
    page.click("#conn-form button[type=submit]")
    expect(page.locator("#conn-form .form-error")).to_contain_text("extra: not JSON")
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    assert page.request.get(f"{conveyor.url}/api/v1/connections/warehouse").status == 404


def test_an_admin_manages_variables_with_secrets_masked(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "admin")
    page.goto(f"{conveyor.url}/admin/variables")
    page.fill("#var-key", "region")
    page.fill("#var-value", "eu-west-1")
    page.click("#var-form button[type=submit]")
    expect(page.locator('#variables tr[data-key="region"] .value')).to_have_text("eu-west-1")
    page.fill("#var-key", "vendor_token")
    page.fill("#var-value", "tok-98765")
    page.check("#var-secret")
    page.click("#var-form button[type=submit]")
    secret = page.locator('#variables tr[data-key="vendor_token"]')
    expect(secret.locator(".value")).to_have_text("***")
    assert "tok-98765" not in page.content()
    page.locator('#variables tr[data-key="region"]').get_by_role("button", name="Edit").click()
    page.fill("#var-value", "us-east-2")
    page.click("#var-form button[type=submit]")
    expect(page.locator('#variables tr[data-key="region"] .value')).to_have_text("us-east-2")
    secret.get_by_role("button", name="Delete").click()
    expect(secret).to_have_count(0)
    assert api_get(page, conveyor, "variables/region")["value"] == "us-east-2"


def test_an_admin_manages_pools_and_sees_their_use(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "admin")
    page.goto(f"{conveyor.url}/admin/pools")
    expect(page.locator('#pools tr[data-pool="default_pool"]')).to_be_visible()
    expect(page.locator("#pools thead")).to_contain_text("Queued")
    page.fill("#pool-name", "api_calls")
    page.fill("#pool-slots", "3")
    page.click("#pool-form button[type=submit]")
    row = page.locator('#pools tr[data-pool="api_calls"]')
    expect(row.locator(".slots")).to_have_text("3")
    row.get_by_role("button", name="Edit").click()
    page.fill("#pool-slots", "5")
    page.click("#pool-form button[type=submit]")
    expect(row.locator(".slots")).to_have_text("5")
    assert api_get(page, conveyor, "pools/api_calls")["slots"] == 5
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    expect(page.locator('#pools tr[data-pool="default_pool"] button.danger')).to_have_count(0)


def test_an_admin_creates_a_user_changes_the_role_and_deletes_them(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "admin")
    page.goto(f"{conveyor.url}/admin/users")
    page.fill("#user-name", "newbie")
    page.select_option("#user-role", "op")
    page.click("#user-form button[type=submit]")
    expect(page.locator("#created-user")).to_contain_text("Password, shown once:")
    row = page.locator('#users tr[data-username="newbie"]')  # listed without a reload
    expect(row.locator("select")).to_have_value("op")
    page.reload()
    expect(page.locator("#created-user")).to_be_hidden()  # shown once
    row.locator("select").select_option("viewer")
    expect(page.locator(".toast")).to_contain_text("newbie now holds viewer")
    users = api_get(page, conveyor, "users")["users"]
    assert {"viewer"} == {u["role"] for u in users if u["username"] == "newbie"}  # type: ignore[attr-defined,index]
    # The last admin cannot lose the role: refused, and the select goes back.
    page.locator('#users tr[data-username="admin"] select').select_option("op")
    expect(page.locator(".toast.error")).to_contain_text("last admin")
    expect(page.locator('#users tr[data-username="admin"] select')).to_have_value("admin")
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    expect(page.locator('#users tr[data-username="admin"] button.danger')).to_have_count(0)


def test_an_op_reads_but_is_offered_no_admin_button(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "op")
    for path in ("/admin/connections", "/admin/variables", "/admin/pools"):
        page.goto(f"{conveyor.url}{path}")
        expect(page.locator("table.data")).to_be_visible()
        expect(page.locator("form.api-form")).to_have_count(0)
        expect(page.locator("button[data-delete], button[data-edit]")).to_have_count(0)
    response = page.goto(f"{conveyor.url}/admin/users")
    assert response is not None and response.status == 403
    expect(page.locator("#refused")).to_contain_text("'admin' role")
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    refused = page.request.put(
        f"{conveyor.url}/api/v1/pools/sneaky",
        data=json.dumps({"slots": 1}),
        headers={"Content-Type": "application/json", "X-CSRF-Token": csrf},
    )
    assert refused.status == 403


def test_a_viewer_is_refused_what_the_api_refuses(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "viewer")
    for path in ("/admin/connections", "/admin/variables", "/admin/users", "/audit"):
        response = page.goto(f"{conveyor.url}{path}")
        assert response is not None and response.status == 403, path
    page.goto(f"{conveyor.url}/admin/pools")
    expect(page.locator('#pools tr[data-pool="default_pool"]')).to_be_visible()
    expect(page.locator("form.api-form, button[data-delete], button[data-edit]")).to_have_count(0)


def test_the_audit_log_filters_in_the_url_and_pages(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "op")
    page.goto(f"{conveyor.url}/dags/hourly_sync/trigger")
    page.click("#trigger-submit")
    expect(page).to_have_url(re.compile(r"/dags/hourly_sync\?run="))
    run_id = str(page.evaluate("new URLSearchParams(location.search).get('run')"))
    # Leave the live grid first: once the cookies are gone its next poll is refused and the
    # page goes to /login itself, which would abort the navigation below.
    page.goto("about:blank")
    page.context.clear_cookies()
    log_in(page, conveyor, "admin")
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    for n in range(52):  # more than a page of pool changes
        answer = page.request.put(
            f"{conveyor.url}/api/v1/pools/p{n % 2}",
            data=json.dumps({"slots": n}),
            headers={"Content-Type": "application/json", "X-CSRF-Token": csrf},
        )
        assert answer.ok, answer.text()
    page.goto(f"{conveyor.url}/audit")
    page.fill("#f-actor", "op")
    page.select_option("#f-action", "run.trigger")
    page.click("#audit-filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"actor=op.*action=run.trigger"))
    rows = page.locator("#audit tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".target")).to_have_text(f"hourly_sync/{run_id}")
    expect(rows.first.locator(".actor")).to_have_text("op")
    page.reload()  # the filters live in the URL
    expect(page.locator("#f-actor")).to_have_value("op")
    expect(page.locator("#audit tbody tr")).to_have_count(1)
    total = api_get(page, conveyor, "audit?action=pool.set&limit=1")["total"]
    assert isinstance(total, int) and 52 <= total <= 100
    page.goto(f"{conveyor.url}/audit?action=pool.set")
    expect(page.locator("#audit-total")).to_contain_text(f"{total} in all · page 1 of 2")
    expect(page.locator("#audit tbody tr")).to_have_count(50)
    expect(page.locator("#audit tbody tr .details").first).to_have_text('{"slots": 51}')
    page.click("#audit-next")
    expect(page).to_have_url(re.compile(r"action=pool.set&page=2"))
    expect(page.locator("#audit tbody tr")).to_have_count(total - 50)


def test_home_shows_failing_dags_errors_health_pools_and_runs(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "op")
    page.goto(f"{conveyor.url}/dags/nightly_billing/trigger")
    page.click("#trigger-submit")
    expect(page).to_have_url(re.compile(r"/dags/nightly_billing\?run="))
    run_id = str(page.evaluate("new URLSearchParams(location.search).get('run')"))
    bar = page.locator(f'#grid a.run-bar[data-run-id="{run_id}"]')
    expect(bar).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    page.click(".mainnav >> text=Home")
    expect(page.locator('#failing tr[data-dag-id="nightly_billing"]')).to_contain_text(run_id)
    expect(page.locator('#failing tr[data-dag-id="shop_orders"]')).to_have_count(0)
    expect(page.locator("#import-errors")).to_contain_text("broken_dag.py")
    expect(page.locator("#health tr[data-scheduler] .state")).to_have_text("alive")
    expect(page.locator('#pool-use tr[data-pool="default_pool"]')).to_be_visible()
    failed = int(page.locator('#runs-24h [data-state="failed"] strong').inner_text())
    assert failed >= 1
    page.click("text=DAG list")
    expect(page.locator("#dag-table")).to_be_visible()


def test_dark_mode_follows_the_system_and_the_toggle_sticks(
    browser: Browser, conveyor: Conveyor
) -> None:
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    console: list[str] = []
    hosts: set[str] = set()
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    log_in(page, conveyor, "admin")
    background = "getComputedStyle(document.body).backgroundColor"
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    dark = page.evaluate(background)
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    for path in ("/home", "/admin/users", "/audit", "/"):
        page.goto(f"{conveyor.url}{path}")
        assert page.evaluate("document.documentElement.dataset.theme") == "light", path
    assert page.evaluate(background) != dark
    page.click("#theme-toggle")
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate(background) == dark
    context.close()
    light = browser.new_context(color_scheme="light").new_page()
    log_in(light, conveyor, "viewer")
    assert light.evaluate("document.documentElement.dataset.theme") == "light"
    light.context.close()
    assert not [m for m in console if "Content Security Policy" in m], console
    assert hosts == {urlsplit(conveyor.url).netloc}, hosts


def test_the_theme_toggle_answers_while_the_page_scripts_still_load(
    page: Page, conveyor: Conveyor
) -> None:
    """The button is shown as soon as the header is parsed; a click then, before the DAG
    list's module script has arrived (so before DOMContentLoaded), still switches the theme."""
    log_in(page, conveyor, "admin")
    start = page.evaluate("document.documentElement.dataset.theme")
    held: list[object] = []
    page.route("**/js/dags.js*", lambda route: held.append(route))
    page.add_init_script(
        "window.__loaded = false;"
        "document.addEventListener('DOMContentLoaded', () => { window.__loaded = true; });"
    )
    page.goto(f"{conveyor.url}/", wait_until="commit")
    expect(page.locator("#theme-toggle")).to_be_visible(timeout=WAIT_MS)
    page.wait_for_function("() => document.readyState !== 'loading'", timeout=WAIT_MS)
    assert held, "the DAG list's script was not requested"
    assert page.evaluate("window.__loaded") is False
    page.click("#theme-toggle")
    flipped = "light" if start == "dark" else "dark"
    assert page.evaluate("document.documentElement.dataset.theme") == flipped
    assert page.get_attribute("#theme-toggle", "aria-pressed") == str(flipped == "dark").lower()
    for route in held:
        route.continue_()  # type: ignore[attr-defined]
    page.unroute("**/js/dags.js*")
    page.wait_for_function("() => window.__loaded", timeout=WAIT_MS)
    expect(page.locator("#dag-table")).to_be_visible(timeout=WAIT_MS)
    page.click("#theme-toggle")  # back as it was, for the module's other tests
    assert page.evaluate("document.documentElement.dataset.theme") == start
