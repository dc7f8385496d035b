"""The page routes: each renders the shell and the first paint; JavaScript keeps it live.

A page reads through ``conveyor.web.queries``, the read model the JSON API serves, and
embeds that JSON for its first paint; the page's script draws it at once and then polls
the API for the same shape. So the first paint and every update come from one place.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, get_args
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from conveyor.exceptions import NotFoundError
from conveyor.store import runs
from conveyor.store.engine import Connection
from conveyor.web import queries
from conveyor.web.auth import User
from conveyor.web.dag_access import cluster_reader, hidden_folder, readable_dag_ids
from conveyor.web.dag_list import DagOrder, DagQuery, DagState
from conveyor.web.deps import get_settings, get_store
from conveyor.web.schemas import TaskInfo
from conveyor.web.ui.layout import LayoutError, layout_grouped
from conveyor.web.ui.page import DAG_READER, DagsUser, PageResult, Pages, nav_entry, not_found
from conveyor.web.ui.params import form_fields
from conveyor.web.ui.rendering import Renderer
from conveyor.web.ui.timeline_pages import TIMELINE_TABS, tab_context

pages = Pages()
router = pages.router
# Logged in (else redirected to the login page), and let see DAGs.
PageUser = DagsUser
nav_entry("DAGs", "/", order=20, keys=("dags",))
nav_entry("Runs", "/runs", order=30)
nav_entry("Task instances", "/task-instances", order=40, keys=("task-instances",))
nav_entry("Workers", "/workers", order=60, role=DAG_READER)

DAG_TABS = ("grid", "graph", "durations", *TIMELINE_TABS, "source")
DAGS_PER_PAGE = 50  # the DAG list's page (dags.js asks the API for as many)
GRID_RUNS = {"grid": 25, "graph": 25, "durations": 60}  # runs each tab shows (and polls)
RUN_CHOICES = (25, 50, 100)  # how many runs the grid may show (?runs=)
# (version hash, collapsed task groups) -> layout
_layouts: OrderedDict[tuple[str, tuple[str, ...] | None], dict[str, Any]] = OrderedDict()


@dataclass(frozen=True)
class _VersionTasks:
    """A DAG version's tasks as its pages use them, made once a version (versions never
    change; a 1,000-task DAG's cost a page tens of milliseconds to make again). Shared by
    every request: read, never changed."""

    layout: list[dict[str, Any]]  # what the graph's layout reads of each task
    page: list[dict[str, Any]]  # what the page's script reads of each (embedded in it)


_version_tasks: OrderedDict[str, _VersionTasks] = OrderedDict()  # version hash ->


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.ui
    return renderer


def _label_edges(layout: dict[str, Any], tasks: list[dict[str, Any]]) -> None:
    """Put each edge's Label text (if it has one) on the laid-out edge, for graph.js."""
    labels = {
        (up, t["task_id"]): text for t in tasks for up, text in (t.get("edge_labels") or {}).items()
    }
    if not labels:
        return
    for edge in layout["edges"]:
        text = labels.get((edge["source"], edge["target"]))
        if text:
            edge["label"] = text


def _drawn(layout: dict[str, Any]) -> dict[str, Any]:
    """The layout without what graph.js does not draw: a node's layer and order, and the
    fields a plain task leaves at their defaults (its label is its id; kind task; no
    members). A 1,000-task graph's JSON shrinks by about a third."""
    for node in layout["nodes"]:
        del node["layer"], node["order"]
        if node["kind"] == "task":
            del node["kind"], node["members"]
            if node["label"] == node["id"]:
                del node["label"]
            if not node["sublabel"]:
                del node["sublabel"]
    return layout


def _layout(
    version_hash: str,
    tasks: list[dict[str, Any]],
    groups: list[dict[str, Any]] | None = None,
    collapsed: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The graph layout of a DAG version with these task groups collapsed (None: all);
    versions never change, so each view of one is laid out once."""
    key = (version_hash, collapsed)
    found = _layouts.get(key)
    if found is None:
        try:
            serialized = {"tasks": tasks, "task_groups": groups or []}
            found = _drawn(layout_grouped(serialized, collapsed).as_dict())
            _label_edges(found, tasks)
        except LayoutError as exc:
            found = {"error": str(exc), "nodes": [], "edges": [], "width": 0, "height": 0}
        _layouts[key] = found
        while len(_layouts) > 256:
            _layouts.popitem(last=False)
    else:
        _layouts.move_to_end(key)
    return found


def _dag_detail(conn: Connection, dag_id: str) -> tuple[dict[str, Any], _VersionTasks]:
    """A DAG's detail as JSON, but for its tasks, and its version's tasks as the pages use
    them; NotFoundError when the store has no such DAG."""
    found = queries.get_dag(conn, dag_id)
    detail = found.model_dump(mode="json", exclude={"tasks"})
    tasks = _version_tasks.get(found.version_hash)
    if tasks is None:
        layout = _layout_tasks(found.tasks)
        # The script reads each task's id and operator (griddata.js); no label: the grid
        # shows task ids, the graph its own layout's labels.
        page = [{"task_id": t["task_id"], "operator_name": t["operator_name"]} for t in layout]
        tasks = _version_tasks[found.version_hash] = _VersionTasks(layout, page)
        while len(_version_tasks) > 256:
            _version_tasks.popitem(last=False)
    return detail, tasks


def dag_header(conn: Connection, dag_id: str) -> dict[str, Any]:
    """What a DAG's header (``_dag_head.html``) shows, for pages beside the DAG page's tabs
    (its versions); nothing when the store no longer has the DAG's row."""
    try:
        detail, tasks = _dag_detail(conn, dag_id)
    except NotFoundError:
        return {}
    return {"dag": detail, "tasks": tasks.layout}


def _dag_context(request: Request, dag_id: str, tab: str | None = None) -> dict[str, Any]:
    """What a DAG's pages show; NotFoundError when the store has no such DAG."""
    with get_store(request).read() as conn:
        detail, tasks = _dag_detail(conn, dag_id)
        context: dict[str, Any] = {"dag_id": dag_id, "dag": detail}
        found = queries.list_scheduler_problems(conn, dag_id).model_dump(mode="json")
        context["problems"] = found["problems"]
        if tab in GRID_RUNS:
            window = _grid_window(request, tab)
            # compact: a letter a task instance (a 1,000-task DAG's 25 runs: 25 KB, not 590)
            # The Durations tab first draws whole runs: no task instance is read until a
            # task is picked (60 runs of a 1,000-task DAG are 60,000 of them).
            grid = queries.grid(
                conn, dag_id, window["runs"], window["before"], window["after"], compact=True,
                task_ids=[] if tab == "durations" else None,
            )  # fmt: skip
            context["initial_grid"] = grid.model_dump(mode="json")
            context["window"] = {
                "runs": window["runs"],
                "before": request.query_params.get("before") if window["before"] else None,
                "after": request.query_params.get("after") if window["after"] else None,
                "choices": RUN_CHOICES,
            }
        if tab == "source":
            context["source"] = queries.get_source(conn, dag_id).model_dump()
        if tab in TIMELINE_TABS:
            context.update(tab_context(conn, request, dag_id, tab))
    context["tasks"] = tasks.layout
    context["page_tasks"] = tasks.page
    if tab == "graph":
        context["layout"] = _layout(detail["version_hash"], tasks.layout, detail["task_groups"])
    return context


def _layout_tasks(tasks: list[TaskInfo]) -> list[dict[str, Any]]:
    """What the graph's layout reads of each task of a DAG's detail."""
    return [
        {
            "task_id": t.task_id,
            "operator_name": t.operator,
            "upstream": t.upstream,
            "edge_labels": t.upstream_labels,
            "task_display_name": t.task_display_name,
            "label": t.task_display_name or t.task_id,
        }
        for t in tasks
    ]


def _grid_window(request: Request, tab: str) -> dict[str, Any]:
    """Which runs the tab shows, from the page's URL: ``runs`` (one of RUN_CHOICES, the grid
    only), and ``before`` or ``after`` a logical date for an older or newer page. A value the
    API would refuse is left out here (the latest runs are shown instead)."""
    params = request.query_params
    count = GRID_RUNS[tab]
    if tab == "grid" and params.get("runs", "").isdigit() and int(params["runs"]) in RUN_CHOICES:
        count = int(params["runs"])
    dates: dict[str, datetime | None] = {"before": None, "after": None}
    for name in dates:
        try:
            value = datetime.fromisoformat(params.get(name, "")[:40])
            if value.tzinfo is not None:
                dates[name] = value.astimezone(UTC)
        except (ValueError, OverflowError):
            continue
    if dates["before"] is not None:
        dates["after"] = None
    return {"runs": count, **dates}


@router.get("/dags/{dag_id}/graph/layout")
def graph_layout(
    request: Request, dag_id: str, user: PageUser, collapsed: str | None = None
) -> JSONResponse:
    """The graph with these task groups collapsed (comma-separated; absent: all of them),
    for the page's script when a group is clicked open or shut."""
    with get_store(request).read() as conn:
        try:
            detail, tasks = _dag_detail(conn, dag_id)
        except NotFoundError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)
    known = {g["group_id"] for g in detail["task_groups"]}
    shut = None if collapsed is None else tuple(sorted(set(collapsed.split(",")) & known))
    layout = _layout(detail["version_hash"], tasks.layout, detail["task_groups"], shut)
    return JSONResponse(layout)


def _dag_query(request: Request) -> DagQuery:
    """The DAG list's query from the page's URL (the script asks the API the same); a value
    the API would refuse is left out here, and the script then shows the API's answer."""
    params = request.query_params
    page = params.get("page", "1")
    number = int(page) if page.isdigit() and 0 < len(page) < 7 else 1
    state = params.get("state")
    order = params.get("order_by", "dag_id")
    return DagQuery(
        tags=tuple(t for t in params.getlist("tag") if len(t) <= 200),
        search=params.get("search", "")[:200] or None,
        state=state if state in get_args(DagState) else None,
        order=order if order in get_args(DagOrder) else "dag_id",
        limit=DAGS_PER_PAGE,
        offset=(max(number, 1) - 1) * DAGS_PER_PAGE,
    )


@pages.page("/", "dags.html", nav="dags")
def dags_page(request: Request, user: PageUser) -> PageResult:
    readable = readable_dag_ids(request, user)
    query = replace(_dag_query(request), dag_ids=readable)
    with get_store(request).read() as conn:
        initial = {
            "dags": queries.list_dags(conn, query).model_dump(mode="json"),
            "errors": queries.list_import_errors(
                conn, readable, hidden_folder(request, user)
            ).model_dump(mode="json"),
        }
        problems = queries.list_scheduler_problems(conn, readable=readable).model_dump(mode="json")[
            "problems"
        ]
    return {"initial": initial, "problems": problems}


@pages.page("/runs", "runs.html", nav="runs")
def runs_page(request: Request, user: PageUser) -> PageResult:
    """Runs of every DAG; the filters are in the query string, which the script reads."""
    return {}


@pages.page("/task-instances", "task_instances.html", nav="task-instances")
def task_instances_page(request: Request, user: PageUser) -> PageResult:
    """Task instances of every DAG; the filters are in the query string, as for runs."""
    return {}


@pages.page("/workers", "workers.html", nav="workers")
def workers_page(request: Request, user: PageUser) -> PageResult:
    """Schedulers, workers and triggerers (no DAG is named there), and the tries in flight,
    of the DAGs the user may read (the script lists those through the API)."""
    cluster_reader(request, user)
    beat = get_settings(request).heartbeat_seconds
    with get_store(request).read() as conn:
        initial = {
            "workers": queries.list_workers(conn, beat).model_dump(mode="json"),
            "schedulers": queries.list_schedulers(conn, beat).model_dump(mode="json"),
            "triggerers": queries.list_triggerers(conn, beat).model_dump(mode="json"),
        }
    return {"initial": initial}


@pages.page("/dags/{dag_id}", "dag.html", nav="dags")
def dag_page(request: Request, dag_id: str, user: PageUser) -> PageResult:
    return _dag_tab(request, dag_id, "grid", user)


@pages.page("/dags/{dag_id}/trigger", "trigger.html", nav="dags")
def trigger_page(request: Request, dag_id: str, user: PageUser) -> PageResult:
    """The trigger form; a viewer sees it read-only (the API refuses them anyway)."""
    try:
        context = _dag_context(request, dag_id)
    except NotFoundError as exc:
        return not_found(request, user, str(exc))
    return {"fields": form_fields(context["dag"]["params"]), **context}


@pages.page("/dags/{dag_id}/{tab}", "dag.html", nav="dags")
def dag_tab_page(request: Request, dag_id: str, tab: str, user: PageUser) -> PageResult:
    if tab not in DAG_TABS:
        return not_found(request, user, f"no page {tab!r} for a DAG (try: {', '.join(DAG_TABS)})")
    return _dag_tab(request, dag_id, tab, user)


def _dag_tab(request: Request, dag_id: str, tab: str, user: User) -> PageResult:
    try:
        context = _dag_context(request, dag_id, tab)
    except NotFoundError as exc:
        return not_found(request, user, str(exc))
    return {"tab": tab, **context}


@router.get("/dags/{dag_id}/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, dag_id: str, run_id: str, user: PageUser) -> Response:
    # A run is shown selected in its DAG's grid.
    target = _renderer(request).url(f"/dags/{dag_id}") + "?" + urlencode({"run": run_id})
    return RedirectResponse(target, status_code=303)


@router.get("/dags/{dag_id}/runs/{run_id}/gantt", response_class=HTMLResponse)
def run_gantt_page(request: Request, dag_id: str, run_id: str, user: PageUser) -> Response:
    # A run's Gantt chart is its DAG's Gantt tab with the run picked.
    target = _renderer(request).url(f"/dags/{dag_id}/gantt") + "?" + urlencode({"run": run_id})
    return RedirectResponse(target, status_code=303)


TASK_TABS = ("log", "xcom", "rendered")


@pages.page("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}", "task.html", nav="dags")
def task_page(
    request: Request, dag_id: str, run_id: str, task_id: str, user: PageUser
) -> PageResult:
    return _task_page(request, dag_id, run_id, task_id, None, user)


@pages.page(
    "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/mapped/{map_index}", "task.html", nav="dags"
)
def mapped_instance_page(
    request: Request, dag_id: str, run_id: str, task_id: str, map_index: str, user: PageUser
) -> PageResult:
    """One instance of a mapped task: its own tries, log, XCom and actions."""
    if not map_index.isdigit() or int(map_index) > 2**31 - 1:
        return not_found(request, user, f"map index {map_index!r} is not a number 0..n-1")
    return _task_page(request, dag_id, run_id, task_id, int(map_index), user)


def _task_page(
    request: Request,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int | None,
    user: User,
) -> PageResult:
    with get_store(request).read() as conn:
        try:
            run = queries.find_run(conn, dag_id, run_id)
            initial = queries.get_task_instance(conn, dag_id, run_id, task_id, map_index)
        except NotFoundError as exc:
            return not_found(request, user, str(exc))
        # The task as the run's own DAG version defines it (the file may have changed since).
        structure = runs.serialized_dag(conn, run.version_hash)
        # The note a person wrote on the run, shown on its task instances' pages.
        run_note = queries.get_run(conn, dag_id, run_id).user_note
        links = queries.extra_links(conn, run.id, task_id, -1 if map_index is None else map_index)
    task = next(t for t in structure.raw["tasks"] if t["task_id"] == task_id)
    tab = request.query_params.get("tab", "log")
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "map_index": map_index,
        "task": task,
        "tab": tab if tab in TASK_TABS else "log",
        "run_note": run_note,
        "extra_links": links,
        "initial": initial.model_dump(mode="json"),
    }
