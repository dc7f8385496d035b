"""The Content-Security-Policy against the UI's own pages, in a real browser.

The app sends ``script-src 'self'``, ``frame-ancestors 'none'`` and the rest on every
response (conveyor.web.guards). A page that relied on an inline script, a CDN or an
``eval`` would break silently under it; here chromium visits every page and the API docs,
and any CSP report in its console fails the test. The docs page must also render offline:
every request it makes stays on the server.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, sign_in

ui_servers.require_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(180)
WAIT_MS = 30_000


browser = ui_servers.browser_fixture()
servers = ui_servers.servers_fixture("servers")


def test_every_page_and_the_api_docs_work_under_the_csp(
    browser: Browser, servers: Conveyor
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page: Page = context.new_page()
    console: list[str] = []
    errors: list[str] = []
    hosts: set[str] = set()
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))

    sign_in(page, servers.url, "op", PASSWORDS["op"], WAIT_MS)
    page.goto(f"{servers.url}/dags/hourly_sync/trigger")
    page.click("#trigger-submit")
    expect(page).to_have_url(re.compile(r"/dags/hourly_sync\?run="), timeout=WAIT_MS)
    run_id = page.evaluate("new URLSearchParams(location.search).get('run')")
    listed = page.request.get(f"{servers.url}/api/v1/dags/hourly_sync/versions")
    assert listed.ok, listed.text()
    version = listed.json()["versions"][0]["version_hash"]
    for path in (
        "/",
        "/dags/hourly_sync/versions",
        f"/dags/hourly_sync/versions/{version}",
        f"/dags/hourly_sync/versions/{version}/diff/{version}",
        "/dags/hourly_sync",
        "/dags/hourly_sync?runs=50&tasks=pu&folded=none",
        f"/dags/hourly_sync?before=2099-01-01T00:00:00Z&run={run_id}",
        "/dags/hourly_sync/graph",
        "/dags/hourly_sync/durations",
        "/dags/hourly_sync/source",
        "/dags/hourly_sync/gantt",
        f"/dags/hourly_sync/gantt?run={run_id}",
        "/dags/hourly_sync/landing-times",
        "/dags/hourly_sync/calendar",
        "/runs?dag_id=hourly_sync&logical_date_gte=2026-01-01T00:00:00Z",
        "/assets",
        f"/dags/hourly_sync/runs/{run_id}/tasks/pull",
        "/?search=sync&state=active&order_by=-last_run&tag=sync",
        "/runs?state=failed&dag_id_pattern=hourly&order_by=-logical_date&page=2",
        "/task-instances",
        "/task-instances?state=success&task_id_pattern=pull&end_date_gte=2026-01-01T00:00:00Z",
        f"/dags/hourly_sync/runs/{run_id}/tasks/pull?tab=xcom",
        f"/dags/hourly_sync/runs/{run_id}/tasks/pull?tab=rendered",
        "/workers",
        "/home",
        "/admin/connections",
        "/admin/variables",
        "/admin/pools",
        "/audit",
        "/tokens",
    ):
        page.goto(f"{servers.url}{path}")
        page.wait_for_load_state("networkidle")
    # The grid's and the graph's controls: filter, page, zoom, pan, fit.
    page.goto(f"{servers.url}/dags/hourly_sync?runs=100")
    page.fill("#grid-filter", "push")
    expect(page.locator("#grid tr[data-task-row]")).to_have_count(1, timeout=WAIT_MS)
    page.goto(f"{servers.url}/dags/hourly_sync/graph")
    for control in ("#graph-zoom-in", "#graph-zoom-out", "#graph-actual", "#graph-fit"):
        page.click(control)
    page.locator("#graph").hover()
    page.mouse.wheel(0, -200)
    expect(page.locator("#graph")).to_have_attribute("data-fitted", "false")
    page.goto(f"{servers.url}/tokens")
    page.fill("#token-name", "from the browser")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#new-token-value")).to_contain_text("cvy_")
    # The runs page, and the preview of a bulk action in its dialog.
    page.goto(f"{servers.url}/runs")
    page.locator("#list-rows input[data-select=row]").first.click()
    page.click("[data-bulk=mark-success]")
    expect(page.locator("#action-preview")).to_contain_text(re.compile("will change|Nothing"))
    page.click("#action-dialog [data-action=cancel]")
    page.goto(f"{servers.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Conveyor", timeout=WAIT_MS)
    expect(page.locator(".opblock").first).to_be_visible()
    context.close()

    violations = [m for m in console if "Content Security Policy" in m]
    assert not violations, violations
    assert not errors, errors
    assert hosts == {urlsplit(servers.url).netloc}, hosts
