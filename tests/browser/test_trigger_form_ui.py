"""The trigger form's fields follow each Param's schema, in a real browser (Debian's
chromium driven by Playwright) against a real ``conveyor scheduler`` and ``conveyor web``:
an enum is a select of its values, a date and a date-time are date inputs, a boolean is a
checkbox, and what the API refuses is shown under the field it concerns.

Chromium missing: the tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, sign_in, started

ui_servers.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(180)

RELEASE_DAG = """
from datetime import datetime

from conveyor import DAG, BashOperator, Param

with DAG(
    "release_train",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={
        "channel": Param("beta", enum=["stable", "beta", "nightly"]),
        "shards": Param(2, type="integer", enum=[1, 2, 4]),
        "ticket": Param("REL", type="string", pattern="^[A-Z]+$"),
        "cutoff": Param("2026-02-01", type="string", format="date"),
        "freeze_at": Param("2026-02-01T09:30:00+00:00", type="string", format="date-time"),
        "notify": Param(False, type="boolean"),
        "owner": Param("ops", type="string", minLength=2),
    },
):
    BashOperator(task_id="ship", bash_command="true")
"""


browser = ui_servers.browser_fixture()
page = ui_servers.page_fixture()


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        (servers.dags_folder / "release_train.py").write_text(RELEASE_DAG)
        servers._wait_until_parsed()
        yield servers


def open_form(page: Page, servers: Conveyor, role: str) -> None:
    sign_in(page, servers.url, role, PASSWORDS[role])
    page.goto(f"{servers.url}/dags/release_train/trigger")
    expect(page.locator("#trigger-form")).to_be_visible()


def field(page: Page, name: str) -> object:
    return page.locator(f'#trigger-form [name="{name}"]')


def test_each_param_gets_the_input_its_schema_asks_for(page: Page, conveyor: Conveyor) -> None:
    open_form(page, conveyor, "op")
    channel = page.locator('#trigger-form select[name="channel"]')
    expect(channel.locator("option")).to_have_text(["stable", "beta", "nightly"])
    expect(channel).to_have_value('"beta"')  # the default is selected
    expect(page.locator('#trigger-form select[name="shards"] option')).to_have_text(["1", "2", "4"])
    expect(page.locator('#trigger-form input[name="cutoff"]')).to_have_attribute("type", "date")
    expect(page.locator('#trigger-form input[name="cutoff"]')).to_have_value("2026-02-01")
    freeze = page.locator('#trigger-form input[name="freeze_at"]')
    expect(freeze).to_have_attribute("type", "datetime-local")
    # The default shows in the browser's time zone (the test's chromium runs in UTC or not:
    # either way it reads back as the same instant).
    shown = freeze.input_value()
    offset = page.evaluate("new Date().getTimezoneOffset()")
    as_utc = datetime.fromisoformat(shown).timestamp() + offset * 60
    assert as_utc == datetime.fromisoformat("2026-02-01T09:30:00+00:00").timestamp()
    expect(page.locator('#trigger-form input[name="notify"]')).to_have_attribute("type", "checkbox")


def test_the_chosen_values_reach_the_run_conf_with_their_types(
    page: Page, conveyor: Conveyor
) -> None:
    open_form(page, conveyor, "op")
    page.select_option('#trigger-form select[name="channel"]', label="nightly")
    page.select_option('#trigger-form select[name="shards"]', label="4")
    page.fill('#trigger-form input[name="cutoff"]', "2026-03-04")
    page.fill('#trigger-form input[name="freeze_at"]', "2026-03-04T18:45:10")
    page.check('#trigger-form input[name="notify"]')
    page.click("#trigger-submit")
    expect(page).to_have_url(re.compile(r"/dags/release_train\?run="))
    run_id = page.evaluate("new URLSearchParams(location.search).get('run')")
    run = page.request.get(f"{conveyor.url}/api/v1/dags/release_train/runs/{run_id}").json()
    expected_freeze = page.evaluate("new Date('2026-03-04T18:45:10').toISOString()")
    assert run["conf"] == {
        "channel": "nightly",
        "shards": 4,  # a number, as the enum lists it
        "ticket": "REL",
        "cutoff": "2026-03-04",
        "freeze_at": expected_freeze,
        "notify": True,
        "owner": "ops",
    }


def test_a_refused_value_is_shown_under_its_own_field(page: Page, conveyor: Conveyor) -> None:
    open_form(page, conveyor, "op")
    page.fill('#trigger-form input[name="owner"]', "x")  # the last field: too short
    page.click("#trigger-submit")
    owner_error = page.locator('.field[data-param="owner"] .error')
    expect(owner_error).to_be_visible()
    expect(owner_error).to_contain_text("too short")
    expect(page.locator('.field[data-param="channel"] .error')).to_be_hidden()
    expect(page.locator('.field[data-param="ticket"] .error')).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/trigger$"))  # nothing was triggered
    # Two refused values: each under its own field.
    page.fill('#trigger-form input[name="ticket"]', "rel-1")
    page.click("#trigger-submit")
    ticket_error = page.locator('.field[data-param="ticket"] .error')
    expect(ticket_error).to_be_visible()
    expect(ticket_error).to_contain_text("does not match")
    expect(ticket_error).not_to_contain_text("too short")
    expect(owner_error).to_contain_text("too short")
    expect(owner_error).not_to_contain_text("rel-1")


def test_a_viewer_sees_the_form_but_cannot_trigger(page: Page, conveyor: Conveyor) -> None:
    open_form(page, conveyor, "viewer")
    expect(page.locator("#trigger-submit")).to_be_disabled()
    expect(page.locator('#trigger-form select[name="channel"]')).to_be_visible()
    refused = page.request.post(
        f"{conveyor.url}/api/v1/dags/release_train/runs",
        data={"conf": {}},
        headers={
            "X-CSRF-Token": page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
        },
    )
    assert refused.status == 403
