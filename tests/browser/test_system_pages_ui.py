"""The admin's Config, Providers and Plugins pages in a real browser (Debian's chromium
driven by Playwright) against a real ``conveyor scheduler`` and ``conveyor web``: an admin
reads the effective settings with their sources and no secret in clear, everyone reads the
providers, an op reads the plugins folder's plugins, and a role that may not read a page is
refused it and not offered its link.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import ui_servers
from cryptography.fernet import Fernet
from ui_servers import PASSWORDS, Conveyor, sign_in

ui_servers.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(180)

ADMIN_PASSWORD = "admin-secret-1"
FERNET_KEY = Fernet.generate_key().decode()

PLUGIN = """
from conveyor.airflow_compat.plugins import AirflowPlugin


def shout(text):
    return text.upper()


class ShoutOperator:
    pass


class ShoutPlugin(AirflowPlugin):
    name = "shout_plugin"
    operators = [ShoutOperator]
    macros = [shout]
    flask_blueprints = ["a_blueprint"]
"""

browser = ui_servers.browser_fixture()
page = ui_servers.page_fixture()


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    servers = Conveyor(tmp_path_factory.mktemp("conveyor"))
    home = servers.root / "home"
    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "shout.py").write_text(PLUGIN)
    (home / "conveyor.toml").write_text(
        f'fernet_key = "{FERNET_KEY}"\napi_test_connection = true\n'
    )
    try:
        servers.start()
        servers.add_admin(ADMIN_PASSWORD)
        yield servers
    finally:
        servers.stop()


def log_in(page: Page, servers: Conveyor, role: str) -> None:
    password = ADMIN_PASSWORD if role == "admin" else PASSWORDS[role]
    sign_in(page, servers.url, role, password)


def test_an_admin_reads_the_settings_with_their_sources_and_no_secret(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "admin")
    page.goto(f"{conveyor.url}/admin/pools")
    page.locator(".subnav").get_by_role("link", name="Config").click()
    folder = page.locator('#config-settings tr[data-setting="dags_folder"]')
    expect(folder).to_contain_text(str(conveyor.dags_folder))
    expect(folder).to_contain_text("env CONVEYOR_DAGS_FOLDER")
    key = page.locator('#config-settings tr[data-setting="fernet_key"]')
    expect(key).to_contain_text("***")
    expect(key).to_contain_text("conveyor.toml")
    expect(page.locator('#config-settings tr[data-setting="parallelism"]')).to_contain_text(
        "default"
    )
    assert FERNET_KEY not in page.content()


@pytest.mark.parametrize("role", ["op", "viewer"])
def test_config_is_refused_to_who_is_not_an_admin(
    page: Page, conveyor: Conveyor, role: str
) -> None:
    log_in(page, conveyor, role)
    page.goto(f"{conveyor.url}/admin/pools")
    expect(page.locator(".subnav").get_by_role("link", name="Config")).to_have_count(0)
    response = page.goto(f"{conveyor.url}/admin/config")
    assert response is not None and response.status == 403
    assert FERNET_KEY not in page.content()


def test_everyone_reads_the_providers_with_their_connection_types(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "viewer")
    page.goto(f"{conveyor.url}/admin/pools")
    page.locator(".subnav").get_by_role("link", name="Providers").click()
    postgres = page.locator('#providers tr[data-provider="postgres"]')
    expect(postgres.locator('[data-col="conn-types"]')).to_contain_text("postgresql")
    expect(postgres.locator('[data-col="hooks"]')).to_contain_text("PostgresHook")
    http = page.locator('#providers tr[data-provider="http"]')
    expect(http.locator('[data-col="operators"]')).to_contain_text("HttpOperator")
    expect(http.locator('[data-col="sensors"]')).to_contain_text("HttpSensor")
    expect(http).to_contain_text("conveyor[http]")


def test_an_op_reads_the_plugins_of_the_plugins_folder(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "op")
    page.goto(f"{conveyor.url}/admin/connections")
    page.locator(".subnav").get_by_role("link", name="Plugins").click()
    row = page.locator('#plugins tr[data-plugin="shout_plugin"]')
    expect(row).to_contain_text("shout.ShoutPlugin")
    expect(row.locator('[data-key="operators"]')).to_contain_text("ShoutOperator")
    expect(row.locator('[data-key="macros"]')).to_contain_text("shout")
    expect(row.locator('[data-not-shown="flask_blueprints"]')).to_be_visible()


def test_a_viewer_is_refused_the_plugins(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "viewer")
    page.goto(f"{conveyor.url}/admin/pools")
    expect(page.locator(".subnav").get_by_role("link", name="Plugins")).to_have_count(0)
    response = page.goto(f"{conveyor.url}/admin/plugins")
    assert response is not None and response.status == 403


SECRET_PASSWORD = "pw-never-shown-77"


def put_connection(page: Page, servers: Conveyor, conn_id: str, body: dict[str, object]) -> None:
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    response = page.request.put(
        f"{servers.url}/api/v1/connections/{conn_id}", data=body, headers={"X-CSRF-Token": token}
    )
    assert response.ok, response.text()


def test_an_admin_tests_a_connection_and_reads_the_answer_beside_it(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "admin")
    database = conveyor.root / "warehouse.db"
    put_connection(page, conveyor, "local_db", {"conn_type": "sqlite", "host": str(database)})
    page.goto(f"{conveyor.url}/admin/connections")
    row = page.locator('#connections tr[data-conn-id="local_db"]')
    row.locator("button[data-test-conn]").click()
    result = row.locator(".conn-test-result")
    expect(result).to_have_attribute("data-status", "ok", timeout=30_000)
    expect(result).to_contain_text("Connection successfully tested")
    entries = page.request.get(
        f"{conveyor.url}/api/v1/audit", params={"action": "connection.test"}
    ).json()["entries"]
    assert [(e["actor"], e["target"]) for e in entries][:1] == [("admin", "local_db")], entries


def test_an_op_tests_a_broken_connection_and_no_secret_is_shown(
    page: Page, conveyor: Conveyor
) -> None:
    log_in(page, conveyor, "admin")
    put_connection(
        page, conveyor, "closed_port",
        {"conn_type": "postgresql", "host": "127.0.0.1", "port": 1, "login": "etl",
         "password": SECRET_PASSWORD, "schema": "nowhere"},
    )  # fmt: skip
    page.context.clear_cookies()
    log_in(page, conveyor, "op")
    page.goto(f"{conveyor.url}/admin/connections")
    row = page.locator('#connections tr[data-conn-id="closed_port"]')
    expect(row.locator("button[data-edit]")).to_have_count(0)  # an op changes nothing
    row.locator("button[data-test-conn]").click()
    result = row.locator(".conn-test-result")
    expect(result).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(result).to_contain_text("127.0.0.1")
    assert SECRET_PASSWORD not in page.content()


def test_a_viewer_may_not_test_a_connection(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "viewer")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    refused = page.request.post(
        f"{conveyor.url}/api/v1/connections/local_db/test", headers={"X-CSRF-Token": token}
    )
    assert refused.status == 403
    response = page.goto(f"{conveyor.url}/admin/connections")
    assert response is not None and response.status == 403
