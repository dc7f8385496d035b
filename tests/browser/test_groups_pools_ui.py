"""Task groups and pools in a real browser: a group opens and shuts in the graph, and a task
waiting for a pool says so on its page. Real ``conveyor scheduler`` and ``conveyor web``."""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, sign_in, started

ui_servers.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(180)
WAIT_MS = 30_000

GROUPED = """
from conveyor import DAG, EmptyOperator, TaskGroup

with DAG("grouped_ui", schedule=None):
    start = EmptyOperator(task_id="start")
    with TaskGroup("etl", tooltip="extract and load") as etl:
        extract = EmptyOperator(task_id="extract")
        with TaskGroup("load") as load:
            EmptyOperator(task_id="orders")
            EmptyOperator(task_id="customers")
        extract >> load
    start >> etl >> EmptyOperator(task_id="done")

with DAG("pool_wait_ui", schedule=None):
    EmptyOperator(task_id="gated", pool="ui_pool")
"""


browser = ui_servers.browser_fixture()


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        (servers.dags_folder / "grouped_ui.py").write_text(textwrap.dedent(GROUPED))
        deadline = time.monotonic() + 30
        while "grouped_ui" not in servers.cli("dags", "list").stdout:
            assert time.monotonic() < deadline, servers.logs()
            time.sleep(0.3)
        yield servers


page = ui_servers.page_fixture()


def log_in(page: Page, servers: Conveyor) -> None:
    sign_in(page, servers.url, "op", PASSWORDS["op"])


def inside(inner: dict[str, Any] | None, outer: dict[str, Any] | None) -> bool:
    assert inner is not None and outer is not None
    return (
        outer["x"] < inner["x"]
        and inner["x"] + inner["width"] < outer["x"] + outer["width"]
        and outer["y"] < inner["y"]
        and inner["y"] + inner["height"] < outer["y"] + outer["height"]
    )


def test_a_group_collapses_and_expands_in_the_graph(page: Page, conveyor: Conveyor) -> None:
    conveyor.cli("dags", "trigger", "grouped_ui")
    log_in(page, conveyor)
    page.goto(f"{conveyor.url}/dags/grouped_ui/graph")
    graph = page.locator("svg.graph")
    etl_node = graph.locator('g.group-node[data-group-id="etl"]')
    # Collapsed at first: one node for the group's three tasks, its edges rerouted to it.
    expect(etl_node).to_be_visible()
    expect(etl_node).to_contain_text("group · 3 tasks")
    expect(graph.locator("g.node")).to_have_count(3)
    expect(graph.locator("path.edge")).to_have_count(2)
    expect(graph.locator('g.node[data-task-id="etl.extract"]')).to_have_count(0)
    # Its colour is its tasks' aggregate state: green once the run succeeded.
    expect(etl_node).to_have_attribute("data-state", "success", timeout=WAIT_MS)

    etl_node.click()  # open: the tasks in a box, the inner group still collapsed
    box = graph.locator('g.group-box[data-group-id="etl"]')
    expect(box).to_be_visible()
    extract = graph.locator('g.node[data-task-id="etl.extract"]')
    expect(extract).to_be_visible()
    load = graph.locator('g.group-node[data-group-id="etl.load"]')
    expect(load).to_have_count(1)
    expect(graph.locator("path.edge")).to_have_count(3)
    assert inside(extract.bounding_box(), box.locator("rect.frame").bounding_box())
    assert inside(load.bounding_box(), box.locator("rect.frame").bounding_box())
    expect(extract).to_have_attribute("data-state", "success")

    load.click()  # open the inner group too: nested boxes
    expect(graph.locator("g.group-box")).to_have_count(2)
    orders = graph.locator('g.node[data-task-id="etl.load.orders"]')
    expect(orders).to_be_visible()
    inner_box = graph.locator('g.group-box[data-group-id="etl.load"] rect.frame')
    assert inside(orders.bounding_box(), inner_box.bounding_box())
    assert inside(inner_box.bounding_box(), box.locator("rect.frame").bounding_box())
    expect(graph.locator("path.edge")).to_have_count(5)

    box.locator("text.group-label").click()  # shut the outer group again
    expect(graph.locator("g.group-box")).to_have_count(0)
    expect(graph.locator('g.group-node[data-group-id="etl"]')).to_be_visible()
    expect(graph.locator("g.node")).to_have_count(3)


def test_a_task_waiting_for_a_pool_says_so(page: Page, conveyor: Conveyor) -> None:
    conveyor.cli("dags", "trigger", "pool_wait_ui")
    log_in(page, conveyor)
    page.goto(f"{conveyor.url}/dags/pool_wait_ui")
    cell = page.locator('#grid .cell[data-task-id="gated"]').first
    expect(cell).to_have_attribute("data-state", "scheduled", timeout=WAIT_MS)
    cell.click()
    page.click("[data-action=open-task]")
    waiting = page.get_by_test_id("waiting-for")
    expect(waiting).to_contain_text("waiting for pool 'ui_pool', which does not exist")
    conveyor.cli("pools", "set", "ui_pool", "1")  # the page follows on its own
    expect(page.locator("#ti-state [data-state]")).to_have_attribute(
        "data-state", "success", timeout=WAIT_MS
    )
    assert re.search(r"/tasks/gated", page.url)
