"""Clears and marks do exactly what was chosen, done by clicking in a real browser (Debian's
chromium driven by Playwright) against a real ``conveyor scheduler`` and ``conveyor web``
(issue 54), each job by each role (admin, op, viewer) on DAGs of its own:

- Retry on one instance of a mapped task (its page) and Clear on one mapped row of the Task
  instances list change that instance only; the preview lists exactly it;
- Mark success on a task with its options (upstream, downstream, past, future) checked one
  by one: the preview lists exactly what then changes, and after Confirm only those task
  instances changed;
- Mark success on a failed run keeps its start and end and queues no try;
- a viewer is offered none of these actions, and the API refuses each of them (the action on
  one instance or run, and the bulk one; a preview too) with 403.

Each test compares every task instance of the DAG before and after, so an action that
touches more (or other) than was chosen fails it. Chromium missing: the tests skip, except
in CI (``CI=true``) where they fail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import ui_servers
from ui_servers import PASSWORDS, Conveyor, sign_in, started

from conveyor.config import load_config
from conveyor.store.engine import Store
from conveyor.store.trigger import trigger_run
from conveyor.web import accounts

ui_servers.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.timeout(300)

#: Long enough for a slow, shared 2-core machine.
WAIT_MS = 45_000
ADMIN_PASSWORD = "admin-secret-12"

DAGS = '''"""The DAGs the actions are tried on: the acted-on ones once for each role, so that
what one role's test changes is no other's starting point."""
from datetime import timedelta

from conveyor import DAG, EmptyOperator, task

for role in ("admin", "op", "viewer"):
    with DAG(f"ea_mapped_{role}", schedule=None, is_paused_upon_creation=False):
        @task
        def each(x):
            if x == 1:
                raise ValueError("one is bad")
            return x

        each.expand(x=[0, 1, 2])

    with DAG(f"ea_chain_{role}", schedule=None, is_paused_upon_creation=False):
        @task
        def extract():
            return 1

        @task
        def load(x):
            raise ValueError("the warehouse is down")

        @task
        def report(x):
            return x

        report(load(extract()))

    with DAG(f"ea_fails_{role}", schedule=None, is_paused_upon_creation=False):
        @task
        def only():
            raise ValueError("no")

        only()

with DAG("ea_retried", schedule=None, is_paused_upon_creation=False):
    @task(retries=1, retry_delay=timedelta(seconds=0))
    def flaky(ti=None):
        print(f"this is try {ti.try_number}")
        if ti.try_number == 1:
            raise ValueError("first try fails")

    flaky()

with DAG("ea_fan", schedule=None):
    start = EmptyOperator(task_id="start")
    end = EmptyOperator(task_id="end")
    for i in range(120):
        start >> EmptyOperator(task_id=f"part_{i:03d}") >> end
'''

#: Each action is done by each role: admin and op do it, a viewer is offered nothing and refused.
ROLES = ("admin", "op", "viewer")
by_role = pytest.mark.parametrize("role", ROLES)

Key = tuple[str, str, int]


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conveyor]:
    with started(tmp_path_factory.mktemp("conveyor")) as servers:
        (servers.dags_folder / "exact_actions.py").write_text(DAGS)
        store = Store(load_config(servers.env).settings.db_url)
        try:
            accounts.create_user(store, "admin", "admin", ADMIN_PASSWORD)
            servers._wait_until_parsed()
            for role in ROLES:
                for day in (1, 2):
                    _trigger(store, f"ea_chain_{role}", f"chain-{day}", day)
                    _trigger(store, f"ea_mapped_{role}", f"mapped-{day}", day)
                _trigger(store, f"ea_fails_{role}", "fails-1", 1)
            _trigger(store, "ea_retried", "retried-1", 1)
        finally:
            store.dispose()
        yield servers


def _trigger(store: Store, dag_id: str, run_id: str, day: int) -> None:
    with store.write() as conn:
        trigger_run(
            conn,
            dag_id,
            created_by="test",
            run_id=run_id,
            logical_date=datetime(2026, 1, day, tzinfo=UTC),
        )


browser = ui_servers.browser_fixture()
page = ui_servers.page_fixture(console_errors=True, blank_after=True)


def log_in(page: Page, servers: Conveyor, role: str) -> None:
    password = ADMIN_PASSWORD if role == "admin" else PASSWORDS[role]
    sign_in(page, servers.url, role, password, WAIT_MS)


def api(page: Page, servers: Conveyor, path: str) -> Any:
    response = page.request.get(f"{servers.url}/api/v1/{path}")
    assert response.ok, response.text()
    return response.json()


def instances(page: Page, servers: Conveyor, dag_id: str) -> dict[Key, tuple[str, int]]:
    """Every task instance of the DAG: (run, task, map index) -> (state, try number)."""
    found = api(page, servers, f"task-instances?dag_id={dag_id}&limit=500")["task_instances"]
    return {
        (ti["run_id"], ti["task_id"], ti["map_index"]): (ti["state"], ti["try_number"])
        for ti in found
    }


def wait_until_finished(
    page: Page, servers: Conveyor, dag_id: str, *run_ids: str, state: str = "failed"
) -> None:
    for run_id in run_ids:
        page.goto(f"{servers.url}/dags/{dag_id}?run={run_id}")
        bar = page.locator(f'#grid a.run-bar[data-run-id="{run_id}"]')
        expect(bar).to_have_attribute("data-state", re.compile(state), timeout=WAIT_MS)


def previewed(page: Page) -> set[Key]:
    """The task instances the open dialog's preview lists."""
    rows = page.locator("#action-preview tr[data-change]")
    return {
        (r["run"], r["task"], int(r["index"]))
        for r in rows.evaluate_all(
            "(all) => all.map((r) => ({run: r.dataset.runId, task: r.dataset.taskId,"
            " index: r.dataset.mapIndex}))"
        )
    }


def changed(before: dict[Key, Any], after: dict[Key, Any]) -> set[Key]:
    return {k for k in after if before.get(k, (None, None))[0] != after[k][0]}


def refused(page: Page, servers: Conveyor, *posts: tuple[str, dict[str, Any]]) -> None:
    """Each POST (an API path under /api/v1 and its body, a preview among them) is refused
    for the role (403, with the CSRF token the page carries: not refused for its lack)."""
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    assert token
    for path, body in posts:
        answer = page.request.post(
            f"{servers.url}/api/v1/{path}", data=body, headers={"X-CSRF-Token": token}
        )
        assert answer.status == 403 and "needs 'op'" in answer.text(), (path, answer.text())


def only_these_changed(before: dict[Key, Any], after: dict[Key, Any], chosen: set[Key]) -> None:
    """Every task instance of the DAG but the chosen ones is as it was (state and try)."""
    assert set(after) == set(before)
    assert {k: v for k, v in after.items() if k not in chosen} == {
        k: v for k, v in before.items() if k not in chosen
    }, (before, after)


@by_role
def test_one_mapped_instance_is_retried_and_another_cleared_from_the_list(
    page: Page, conveyor: Conveyor, role: str
) -> None:
    dag = f"ea_mapped_{role}"
    log_in(page, conveyor, role)
    wait_until_finished(page, conveyor, dag, "mapped-1", "mapped-2")
    before = instances(page, conveyor, dag)
    assert before[("mapped-2", "each", 1)] == ("failed", 1)
    page.goto(f"{conveyor.url}/dags/{dag}/runs/mapped-2/tasks/each/mapped/1")
    if role == "viewer":
        expect(page.locator("#ti-state [data-state]")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#ti-actions button")).to_have_count(0)
        page.goto(f"{conveyor.url}/task-instances?dag_id_pattern={dag}")
        expect(page.locator("#list-rows tr[data-task-id]").first).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("input[data-select], [data-bulk]")).to_have_count(0)
        one = {"dag_id": dag, "run_id": "mapped-2", "task_id": "each", "map_index": 1}
        refused(
            page,
            conveyor,
            (f"dags/{dag}/runs/mapped-2/tasks/each/mapped/1/clear", {"dry_run": True}),
            (f"dags/{dag}/runs/mapped-2/tasks/each/mapped/1/clear", {}),
            ("task-instances/clear", {"task_instances": [one], "dry_run": True}),
            ("task-instances/clear", {"task_instances": [one]}),
        )
        assert instances(page, conveyor, dag) == before
        return
    # Instance 1's own page: Retry… previews instance 1 alone, then retries it alone.
    page.click('#ti-actions [data-action="clear"]')
    dialog = page.locator("#action-dialog")
    expect(dialog.locator("tr[data-change]")).to_have_count(1, timeout=WAIT_MS)
    assert previewed(page) == {("mapped-2", "each", 1)}
    dialog.locator('input[name="past"]').check()  # the same instance in the earlier run
    expect(dialog.locator("tr[data-change]")).to_have_count(2)
    assert previewed(page) == {("mapped-1", "each", 1), ("mapped-2", "each", 1)}
    dialog.locator('input[name="past"]').uncheck()
    expect(dialog.locator("tr[data-change]")).to_have_count(1)
    assert instances(page, conveyor, dag) == before  # the previews wrote nothing
    page.click('#action-dialog [data-action="confirm"]')
    expect(dialog).to_have_count(0)
    expect(page.locator("#tries .try")).to_have_count(2, timeout=WAIT_MS)
    after = instances(page, conveyor, dag)
    chosen = {("mapped-2", "each", 1)}
    assert {k for k in after if after[k][1] != before[k][1]} == chosen, (before, after)
    only_these_changed(before, after, chosen)

    # The Task instances list: one mapped row (instance 2 of mapped-1) cleared alone.
    page.goto(f"{conveyor.url}/task-instances?dag_id_pattern={dag}&run_id=mapped-1")
    row = page.locator('#list-rows tr[data-run-id="mapped-1"][data-map-index="2"]')
    expect(row).to_have_count(1, timeout=WAIT_MS)
    row.locator("input[data-select=row]").click()
    page.click("[data-bulk=clear]")
    expect(dialog.locator("tr[data-change]")).to_have_count(1, timeout=WAIT_MS)
    assert previewed(page) == {("mapped-1", "each", 2)}
    before = instances(page, conveyor, dag)
    page.click('#action-dialog [data-action="confirm"]')
    expect(dialog).to_have_count(0)

    # It runs again and succeeds: its page shows a second try.
    page.goto(f"{conveyor.url}/dags/{dag}/runs/mapped-1/tasks/each/mapped/2")
    expect(page.locator("#tries .try")).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator("#ti-state [data-state]")).to_have_attribute(
        "data-state", "success", timeout=WAIT_MS
    )
    now = instances(page, conveyor, dag)
    assert now[("mapped-1", "each", 2)] == ("success", 2)
    only_these_changed(before, now, {("mapped-1", "each", 2)})


@by_role
def test_one_task_is_marked_with_its_options_after_an_exact_preview(
    page: Page, conveyor: Conveyor, role: str
) -> None:
    dag = f"ea_chain_{role}"
    log_in(page, conveyor, role)
    wait_until_finished(page, conveyor, dag, "chain-1", "chain-2")
    before = instances(page, conveyor, dag)
    page.goto(f"{conveyor.url}/dags/{dag}/runs/chain-2/tasks/load")
    actions = page.locator("#ti-actions")
    if role == "viewer":
        expect(page.locator("#ti-state [data-state]")).to_be_visible(timeout=WAIT_MS)
        expect(actions.locator("button")).to_have_count(0)
        page.goto(f"{conveyor.url}/dags/{dag}?run=chain-2")
        page.locator('#grid .cell[data-run-id="chain-2"][data-task-id="load"]').click()
        expect(page.locator("#details-title")).to_have_text("Task instance")
        expect(page.locator("#details-body button")).to_have_count(0)
        one = {"dag_id": dag, "run_id": "chain-2", "task_id": "load"}
        options = {"past": True, "future": True, "upstream": True, "downstream": True}
        refused(
            page,
            conveyor,
            (f"dags/{dag}/runs/chain-2/tasks/load/mark", {"state": "success", "dry_run": True}),
            (f"dags/{dag}/runs/chain-2/tasks/load/mark", {"state": "success"}),
            ("task-instances/mark", {"task_instances": [one], "state": "success", **options}),
            (
                "task-instances/mark",
                {"task_instances": [one], "state": "success", "dry_run": True, **options},
            ),
        )
        assert instances(page, conveyor, dag) == before
        return
    # The marks stand apart from Retry: in their own row.
    expect(actions.locator(".mark-actions [data-action=mark-success]")).to_be_visible()
    expect(actions.locator(".clear-actions [data-action=mark-failed]")).to_have_count(0)
    expect(actions.locator(".mark-actions [data-action=clear]")).to_have_count(0)
    actions.locator("[data-action=mark-success]").click()
    dialog = page.locator("#action-dialog")
    rows = dialog.locator("tr[data-change]")
    # Marked success, load lets its run carry on: report, upstream_failed below it, runs again.
    expect(rows).to_have_count(2, timeout=WAIT_MS)
    assert previewed(page) == {("chain-2", "load", -1), ("chain-2", "report", -1)}
    assert instances(page, conveyor, dag) == before  # opening it changed nothing
    # Each option in turn, the preview exact after each: upstream adds nothing (extract
    # succeeded), downstream marks report instead of running it again, past the same two in
    # chain-1, future nothing (no later run).
    for option, count in (("upstream", 2), ("downstream", 2), ("past", 4), ("future", 4)):
        dialog.locator(f'input[name="{option}"]').check()
        expect(rows).to_have_count(count)
        if option == "upstream":
            assert previewed(page) == {("chain-2", "load", -1), ("chain-2", "report", -1)}
    listed = previewed(page)
    assert listed == {
        (run, task, -1) for run in ("chain-1", "chain-2") for task in ("load", "report")
    }
    assert instances(page, conveyor, dag) == before  # previews wrote nothing
    page.click('#action-dialog [data-action="confirm"]')
    expect(dialog).to_have_count(0)
    expect(page.locator("#ti-state [data-state]")).to_have_attribute(
        "data-state", "success", timeout=WAIT_MS
    )
    after = instances(page, conveyor, dag)
    assert changed(before, after) == listed
    assert all(after[k][0] == "success" for k in listed)
    assert all(after[k][1] == before[k][1] for k in after)  # nothing ran again
    only_these_changed(before, after, listed)


@by_role
def test_a_failed_run_is_marked_success_and_its_history_stays(
    page: Page, conveyor: Conveyor, role: str
) -> None:
    dag = f"ea_fails_{role}"
    log_in(page, conveyor, role)
    wait_until_finished(page, conveyor, dag, "fails-1")
    was = api(page, conveyor, f"dags/{dag}/runs/fails-1")
    tries = instances(page, conveyor, dag)
    bar = page.locator('#grid a.run-bar[data-run-id="fails-1"]')
    bar.click()
    if role == "viewer":
        expect(page.locator("#details-title")).to_have_text("Run", timeout=WAIT_MS)
        expect(page.locator("[data-action^=run-]")).to_have_count(0)
        expect(page.locator("#details-body button")).to_have_count(0)
        one = {"dag_id": dag, "run_id": "fails-1"}
        refused(
            page,
            conveyor,
            (f"dags/{dag}/runs/fails-1/mark", {"state": "success", "dry_run": True}),
            (f"dags/{dag}/runs/fails-1/mark", {"state": "success"}),
            ("runs/mark", {"runs": [one], "state": "success", "dry_run": True}),
            ("runs/mark", {"runs": [one], "state": "success"}),
        )
        assert api(page, conveyor, f"dags/{dag}/runs/fails-1") == was
        assert instances(page, conveyor, dag) == tries
        return
    page.click("[data-action=run-mark-success]")
    dialog = page.locator("#action-dialog")
    expect(dialog.locator("#action-runs")).to_contain_text("fails-1", timeout=WAIT_MS)
    expect(dialog.locator("#action-runs [data-state]")).to_have_count(2)
    states = dialog.locator("#action-runs [data-state]").evaluate_all(
        "(all) => all.map((n) => n.dataset.state)"
    )
    assert states == ["failed", "success"]  # not "queued"
    assert previewed(page) == {("fails-1", "only", -1)}
    assert api(page, conveyor, f"dags/{dag}/runs/fails-1") == was  # the preview wrote nothing
    page.click('#action-dialog [data-action="confirm"]')
    expect(bar).to_have_attribute("data-state", "success", timeout=WAIT_MS)
    now = api(page, conveyor, f"dags/{dag}/runs/fails-1")
    assert now["state"] == "success"
    assert (now["start_date"], now["end_date"]) == (was["start_date"], was["end_date"])
    after = instances(page, conveyor, dag)
    assert after == {("fails-1", "only", -1): ("success", tries[("fails-1", "only", -1)][1])}


def test_the_run_panel_gantt_and_a_retried_tasks_log(browser: Any, conveyor: Conveyor) -> None:
    """The run's note in its panel; the Gantt in the browser's time zone (here UTC+05:30);
    a task that succeeded on its retry opens on that try's log."""
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, timezone_id="Asia/Kolkata"
    )
    page = context.new_page()
    try:
        log_in(page, conveyor, "op")
        page.goto(f"{conveyor.url}/dags/ea_retried?run=retried-1")
        bar = page.locator('#grid a.run-bar[data-run-id="retried-1"]')
        expect(bar).to_have_attribute("data-state", "success", timeout=WAIT_MS)
        token = page.locator("meta[name=csrf-token]").get_attribute("content") or ""
        noted = page.request.put(
            f"{conveyor.url}/api/v1/dags/ea_retried/runs/retried-1/note",
            data={"note": "rerun after the vendor fix"},
            headers={"X-CSRF-Token": token},
        )
        assert noted.ok, noted.text()
        page.reload()
        expect(page.locator("#details-title")).to_have_text("Run", timeout=WAIT_MS)
        expect(page.locator("#run-panel-note")).to_have_text("rerun after the vendor fix")

        page.goto(f"{conveyor.url}/dags/ea_retried/runs/retried-1/tasks/flaky")
        expect(page.locator("#tries .try")).to_have_count(2, timeout=WAIT_MS)
        expect(page.locator("#tail-title")).to_contain_text("try 2")
        expect(page.locator("#log-try")).to_have_value("2")
        expect(page.locator("#log")).to_contain_text("this is try 2", timeout=WAIT_MS)

        page.goto(f"{conveyor.url}/dags/ea_retried/gantt?run=retried-1")
        tick = page.locator("svg.gantt text.gantt-tick").first
        expect(tick).to_be_visible(timeout=WAIT_MS)
        at = datetime.fromisoformat(tick.get_attribute("data-at") or "")
        step = float(tick.get_attribute("data-step") or "1")
        local = at.astimezone(ZoneInfo("Asia/Kolkata"))
        shown = f"{local:%H:%M:%S}" if 1 <= step < 60 else f"{local:%H:%M}"
        if step < 1:
            shown = f"{local:%H:%M:%S}.{local.microsecond // 100_000}"
        expect(tick).to_have_text(shown)
        title = page.locator("svg.gantt a.gantt-row title").first.text_content() or ""
        assert "UTC" not in title and "India" in title, title
        expect(page.locator("#gantt-caption")).to_contain_text("your browser's time zone")
    finally:
        page.goto("about:blank")
        context.close()


def test_a_wide_fan_out_reads_as_parallel_in_the_graph(page: Page, conveyor: Conveyor) -> None:
    log_in(page, conveyor, "viewer")
    page.goto(f"{conveyor.url}/dags/ea_fan/graph")
    box = page.locator("#graph")
    expect(box.locator("g.node")).to_have_count(122, timeout=WAIT_MS)
    fan = box.locator("g.fan-box")
    expect(fan).to_have_count(1)
    expect(fan).to_have_attribute("data-tasks", "120")
    # One edge into the frame and one out of it, not one per task.
    expect(box.locator("path.fan-edge")).to_have_count(2)
    expect(box.locator('path.edge[data-source="start"]')).to_have_count(1)
    expect(box.locator('path.edge[data-target="end"]')).to_have_count(1)
    expect(box.locator('path.edge[data-target^="part_"]')).to_have_count(0)
    frame = fan.locator("rect.frame").bounding_box()
    assert frame is not None
    for task in ("part_000", "part_119"):
        found = box.locator(f'g.node[data-task-id="{task}"]').bounding_box()
        assert found is not None
        assert frame["x"] < found["x"] and found["x"] + found["width"] < frame["x"] + frame["width"]
