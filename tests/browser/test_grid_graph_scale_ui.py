"""The grid and the graph at size, done by clicking as admin, op and viewer: page back
through runs by logical date, filter the tasks, fold a task group, scroll a 303-task grid to
its last row and click a square there, zoom, pan and fit the graph. Real ``conveyor
scheduler`` and ``conveyor web``; the runs are written to the store as the scheduler leaves
finished runs (thirty triggers would take the module a minute).
Any CSP report, JavaScript error or request to another host fails the test."""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import ui_servers
from sqlalchemy import insert, select
from ui_servers import PASSWORDS, Conveyor, sign_in, started

from conveyor.config import load_config
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, task_instance

ui_servers.require_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(240)
WAIT_MS = 30_000
ADMIN_PASSWORD = "admin-secret-1"
RUNS = 30  # more than the grid's first page of 25
FAN = 120  # tasks side by side in the graph: wrapped into several columns

DAGS = f"""
from conveyor import DAG, EmptyOperator, TaskGroup

with DAG("grid_scale_ui", schedule=None):
    start = EmptyOperator(task_id="start")
    with TaskGroup("etl") as etl:
        EmptyOperator(task_id="extract") >> EmptyOperator(task_id="load_orders")
    start >> etl >> EmptyOperator(task_id="report")

with DAG("graph_scale_ui", schedule=None):
    first = EmptyOperator(task_id="first")
    last = EmptyOperator(task_id="last")
    for number in range({FAN}):
        first >> EmptyOperator(task_id=f"part_{{number:03d}}") >> last

with DAG("grid_big_ui", schedule=None):
    for number in range(300):
        EmptyOperator(task_id=f"step_{{number:03d}}")
    with TaskGroup("tail"):
        for number in range(3):
            EmptyOperator(task_id=f"last_{{number}}")
"""
GRID_TASKS = ("start", "etl.extract", "etl.load_orders", "report")
# A grid of 7,575 squares: more than grid.js draws at once (it draws the rows near the window).
BIG_RUNS = 25
BIG_TASKS = (*(f"step_{n:03d}" for n in range(300)), *(f"tail.last_{n}" for n in range(3)))
FIRST_DAY = datetime(2026, 1, 1, tzinfo=UTC)


def write_runs(
    servers: Conveyor, dag_id: str, runs: int, states: Callable[[int], dict[str, str]]
) -> None:
    """``runs`` finished runs of ``dag_id`` a day apart (run day_00 oldest), each with the
    task instance states that ``states(number)`` gives; a run failed where a task did."""
    store = Store(load_config(servers.env).settings.db_url)
    try:
        with store.write() as conn:
            version = conn.execute(
                select(dag.c.version_hash).where(dag.c.dag_id == dag_id)
            ).scalar_one()
            for number in range(runs):
                moment = FIRST_DAY + timedelta(days=number)
                tasks = states(number)
                run_pk = conn.execute(
                    insert(dag_run).values(
                        dag_id=dag_id,
                        run_id=f"day_{number:02d}",
                        run_type="manual",
                        state="failed" if "failed" in tasks.values() else "success",
                        logical_date=moment,
                        data_interval_start=moment,
                        data_interval_end=moment,
                        conf={},
                        version_hash=version,
                        created_by="test",
                        queued_at=moment,
                        start_date=moment,
                        end_date=moment + timedelta(seconds=30),
                    )
                ).inserted_primary_key[0]
                conn.execute(
                    insert(task_instance),
                    [
                        {
                            "run_pk": run_pk,
                            "dag_id": dag_id,
                            "run_id": f"day_{number:02d}",
                            "task_id": task_id,
                            "state": state,
                            "try_number": 1,
                            "max_tries": 1,
                            "queue": "default",
                            "start_date": moment,
                            "end_date": moment + timedelta(seconds=10),
                            "updated_at": moment,
                            "map_index": -1,
                        }
                        for task_id, state in tasks.items()
                    ],
                )
    finally:
        store.dispose()


def add_runs(servers: Conveyor) -> None:
    """RUNS finished runs of grid_scale_ui; the newest failed in the group. BIG_RUNS of
    grid_big_ui, all success but its last task in the newest run."""

    def grid_states(number: int) -> dict[str, str]:
        states = dict.fromkeys(GRID_TASKS, "success")
        if number == RUNS - 1:
            states["etl.load_orders"], states["report"] = "failed", "upstream_failed"
        return states

    def big_states(number: int) -> dict[str, str]:
        states = dict.fromkeys(BIG_TASKS, "success")
        if number == BIG_RUNS - 1:
            states[BIG_TASKS[-1]] = "failed"
        return states

    write_runs(servers, "grid_scale_ui", RUNS, grid_states)
    write_runs(servers, "grid_big_ui", BIG_RUNS, big_states)


browser = ui_servers.browser_fixture()


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        servers.add_admin(ADMIN_PASSWORD)
        (servers.dags_folder / "scale_ui.py").write_text(textwrap.dedent(DAGS))
        deadline = time.monotonic() + 60
        while not all(
            name in servers.cli("dags", "list").stdout
            for name in ("grid_scale_ui", "graph_scale_ui", "grid_big_ui")
        ):
            assert time.monotonic() < deadline, servers.logs()
            time.sleep(0.3)
        add_runs(servers)
        yield servers


@pytest.fixture(params=["admin", "op", "viewer"])
def page(request: pytest.FixtureRequest, browser: Browser, conveyor: Conveyor) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    problems: list[str] = []
    hosts: set[str] = set()
    opened.on("pageerror", lambda error: problems.append(f"error: {error}"))
    opened.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    opened.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    role = request.param
    sign_in(opened, conveyor.url, role, ADMIN_PASSWORD if role == "admin" else PASSWORDS[role])
    yield opened
    opened.goto("about:blank")  # stop the live polls before the context goes
    context.close()
    assert not problems, problems
    assert hosts <= {urlsplit(conveyor.url).netloc, ""}, hosts


def bars(page: Page) -> list[str]:
    return page.locator("#grid a.run-bar").evaluate_all("(all) => all.map((a) => a.dataset.runId)")


def test_page_back_through_runs_and_choose_how_many(page: Page, conveyor: Conveyor) -> None:
    page.goto(f"{conveyor.url}/dags/grid_scale_ui")
    expect(page.locator('#grid a.run-bar[data-run-id="day_29"]')).to_be_visible(timeout=WAIT_MS)
    assert bars(page) == [f"day_{n:02d}" for n in range(RUNS - 25, RUNS)]  # oldest left
    expect(page.locator("#grid-newer")).to_have_attribute("aria-disabled", "true")

    page.click("#grid-older")  # the five runs before the oldest shown
    expect(page.locator('#grid a.run-bar[data-run-id="day_00"]')).to_be_visible(timeout=WAIT_MS)
    assert bars(page) == [f"day_{n:02d}" for n in range(5)]
    assert "before=" in page.url
    expect(page.locator("#grid-older")).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#grid-caption")).to_contain_text("5 runs")

    page.click("#grid-newer")  # and forward again: the 25 after day_04
    expect(page.locator('#grid a.run-bar[data-run-id="day_29"]')).to_be_visible(timeout=WAIT_MS)
    assert bars(page) == [f"day_{n:02d}" for n in range(5, RUNS)]
    assert "after=" in page.url

    page.click("#grid-latest")
    expect(page.locator("#grid a.run-bar")).to_have_count(25, timeout=WAIT_MS)
    page.select_option("#grid-runs", "50")  # the choice is in the URL, so it survives a reload
    expect(page).to_have_url(re.compile(r"runs=50"), timeout=WAIT_MS)
    expect(page.locator("#grid a.run-bar")).to_have_count(RUNS, timeout=WAIT_MS)
    page.reload()
    expect(page.locator("#grid a.run-bar")).to_have_count(RUNS, timeout=WAIT_MS)
    expect(page.locator("#grid-runs")).to_have_value("50")


def test_filter_the_tasks_and_fold_a_group(page: Page, conveyor: Conveyor) -> None:
    page.goto(f"{conveyor.url}/dags/grid_scale_ui")
    rows = page.locator("#grid tr[data-task-row]")
    expect(rows).to_have_count(len(GRID_TASKS), timeout=WAIT_MS)

    page.fill("#grid-filter", "load")  # one task matches; its group stays open around it
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    expect(rows.first).to_have_attribute("data-task-row", "etl.load_orders")
    expect(page.locator("#grid-shown")).to_contain_text("1 of 4 tasks")
    expect(page).to_have_url(re.compile(r"tasks=load"))
    page.reload()  # the filter is in the URL
    expect(page.locator("#grid-filter")).to_have_value("load", timeout=WAIT_MS)
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    page.fill("#grid-filter", "")
    expect(rows).to_have_count(len(GRID_TASKS), timeout=WAIT_MS)

    # Fold the group: one row for its two tasks, coloured by the worst of them.
    page.click('#grid button.fold[data-group-id="etl"]')
    expect(rows).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator('#grid tr[data-task-row="etl.extract"]')).to_have_count(0)
    folded = page.locator('#grid tr[data-group-row="etl"]')
    expect(folded).to_have_attribute("data-folded", "true")
    expect(folded.locator('.cell[data-run-id="day_29"]')).to_have_attribute("data-state", "failed")
    expect(folded.locator('.cell[data-run-id="day_28"]')).to_have_attribute("data-state", "success")
    expect(page).to_have_url(re.compile(r"folded=etl"))
    page.click('#grid button.fold[data-group-id="etl"]')  # and open it again
    expect(rows).to_have_count(len(GRID_TASKS), timeout=WAIT_MS)
    # A task cell still opens its details after the redraws.
    page.locator('#grid .cell[data-run-id="day_29"][data-task-id="etl.load_orders"]').click()
    expect(page.locator("#details-body")).to_contain_text("etl.load_orders")


def test_scroll_a_big_grid_to_its_last_row_and_click_there(page: Page, conveyor: Conveyor) -> None:
    page.goto(f"{conveyor.url}/dags/grid_big_ui")
    newest = f"day_{BIG_RUNS - 1:02d}"
    first = page.locator(f'#grid .cell[data-run-id="{newest}"][data-task-id="step_000"]')
    expect(first).to_be_visible(timeout=WAIT_MS)
    # Only the rows near the window are drawn, yet the page is as tall as all of them.
    rows = page.locator("#grid tr[data-task-row]")
    assert 0 < rows.count() < len(BIG_TASKS)
    assert page.evaluate("document.documentElement.scrollHeight") > len(BIG_TASKS) * 18

    last = BIG_TASKS[-1]
    cell = page.locator(f'#grid .cell[data-run-id="{newest}"][data-task-id="{last}"]')
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(cell).to_have_attribute("data-state", "failed", timeout=WAIT_MS)
    expect(cell).to_be_in_viewport()
    assert rows.last.get_attribute("data-task-row") == last
    cell.hover()  # the tooltip is written when the pointer reaches the square
    expect(cell).to_have_attribute("title", re.compile(rf"^{re.escape(last)} · failed"))
    cell.click()
    expect(page.locator("#details-title")).to_have_text("Task instance")
    expect(page.locator("#details-body")).to_contain_text(last)
    expect(cell).to_have_class(re.compile(r"\bselected\b"))
    expect(page).to_have_url(re.compile(rf"task={re.escape(last)}"))
    # The keyboard: Enter on a focused square opens it too.
    page.locator(f'#grid .cell[data-run-id="{newest}"][data-task-id="step_299"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("#details-body")).to_contain_text("step_299")
    cell.click()

    # Up to the top the first rows are drawn again and the last ones dropped; down again,
    # the selected square is still marked.
    page.evaluate("window.scrollTo(0, 0)")
    expect(first).to_be_visible(timeout=WAIT_MS)
    expect(cell).to_have_count(0)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(cell).to_have_class(re.compile(r"\bselected\b"), timeout=WAIT_MS)

    # Fold the group down there: one row, failed where its task failed, still in view.
    page.click('#grid button.fold[data-group-id="tail"]')
    folded = page.locator('#grid tr[data-group-row="tail"]')
    expect(folded).to_have_attribute("data-folded", "true", timeout=WAIT_MS)
    expect(folded.locator(f'.cell[data-run-id="{newest}"]')).to_have_attribute(
        "data-state", "failed"
    )
    expect(folded).to_be_in_viewport()
    expect(page.locator('#grid tr[data-task-row^="tail."]')).to_have_count(0)
    page.fill("#grid-filter", "step_29")  # step_290 to step_299: every row drawn
    expect(rows).to_have_count(10, timeout=WAIT_MS)
    expect(page.locator("#grid-shown")).to_contain_text(f"10 of {len(BIG_TASKS)} tasks")


def zoom(page: Page) -> float:
    return float(page.locator("#graph").get_attribute("data-zoom") or "nan")


def test_zoom_pan_and_fit_the_graph(page: Page, conveyor: Conveyor) -> None:
    page.goto(f"{conveyor.url}/dags/graph_scale_ui/graph")
    box = page.locator("#graph")
    expect(box).to_have_attribute("data-fitted", "true", timeout=WAIT_MS)
    nodes = box.locator("g.node")
    expect(nodes).to_have_count(FAN + 2)
    # Fitted on open: the whole graph is inside the window, scaled down; and the layout
    # uses the width (several columns of tasks, not one).
    fitted = zoom(page)
    assert 0 < fitted < 1
    frame = box.bounding_box()
    assert frame is not None and frame["height"] <= 900
    for task in ("first", "last", "part_000", f"part_{FAN - 1:03d}"):
        found = box.locator(f'g.node[data-task-id="{task}"]').bounding_box()
        assert found is not None
        assert (
            frame["x"] - 1 <= found["x"]
            and found["x"] + found["width"] <= frame["x"] + frame["width"] + 1
        )
        assert (
            frame["y"] - 1 <= found["y"]
            and found["y"] + found["height"] <= frame["y"] + frame["height"] + 1
        )
    columns = nodes.evaluate_all(
        "(all) => new Set(all.map((n) => n.getAttribute('transform').split(',')[0])).size"
    )
    assert columns >= 4, columns

    page.click("#graph-zoom-in")
    page.click("#graph-zoom-in")
    assert zoom(page) > fitted * 1.5
    expect(page.locator("#graph-zoom-level")).not_to_have_text(f"{round(fitted * 100)}%")
    expect(box).to_have_attribute("data-fitted", "false")
    # Drag to pan: the view moves, and letting go does not open the task under the pointer.
    before = box.locator("svg").get_attribute("viewBox")
    page.mouse.move(frame["x"] + 400, frame["y"] + 200)
    page.mouse.down()
    page.mouse.move(frame["x"] + 250, frame["y"] + 120, steps=5)
    page.mouse.up()
    assert box.locator("svg").get_attribute("viewBox") != before
    assert "/graph" in page.url
    page.click("#graph-zoom-out")
    page.click("#graph-fit")
    expect(box).to_have_attribute("data-fitted", "true")
    assert abs(zoom(page) - fitted) < 0.01
    page.click("#graph-actual")
    assert zoom(page) == 1.0
