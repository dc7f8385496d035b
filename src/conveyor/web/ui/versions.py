"""The version pages of a DAG: its versions, one version's code (and a run's, which is its
version's), and the diff between two. Server-rendered whole: they never change once made."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from conveyor.exceptions import NotFoundError
from conveyor.store.reads import versions as reads
from conveyor.web import versions
from conveyor.web.deps import get_store
from conveyor.web.ui.page import DagsUser, PageResult, Pages, not_found
from conveyor.web.ui.pages import dag_header
from conveyor.web.ui.rendering import Renderer

pages = Pages()
router = pages.router
PageUser = DagsUser
DIFF_VIEWS = ("unified", "split")
VERSIONS_SHOWN = 200  # the newest; the API pages through them all


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.ui
    return renderer


def _path(dag_id: str, *parts: str) -> str:
    return "/".join(["/dags", quote(dag_id, safe=""), *parts])


@pages.page("/dags/{dag_id}/versions", "versions.html", nav="dags")
def versions_page(request: Request, dag_id: str, user: PageUser) -> PageResult:
    try:
        with get_store(request).read() as conn:
            found = versions.list_versions(conn, dag_id, VERSIONS_SHOWN)
            header = dag_header(conn, dag_id)
    except NotFoundError as exc:
        return not_found(request, user, str(exc))
    return {"dag_id": dag_id, "found": found.versions, "total": found.total, **header}


@router.get("/dags/{dag_id}/versions/compare")
def compare(request: Request, dag_id: str, user: PageUser) -> Response:
    """The versions page's compare form: on to the diff's own URL."""
    params = request.query_params
    first, second = params.get("from", ""), params.get("to", "")
    view = params.get("view", "split")
    if not first or not second:
        return not_found(request, user, "pick two versions to compare")
    target = _path(dag_id, "versions", quote(first, safe=""), "diff", quote(second, safe=""))
    suffix = f"?view={view}" if view in DIFF_VIEWS else ""
    return RedirectResponse(_renderer(request).url(target) + suffix, status_code=303)


@pages.page("/dags/{dag_id}/versions/{version}", "version.html", nav="dags")
def version_page(request: Request, dag_id: str, version: str, user: PageUser) -> PageResult:
    try:
        with get_store(request).read() as conn:
            found = versions.version_code(conn, dag_id, version)
            row = reads.version_row(conn, dag_id, found.version_hash)
            previous = reads.previous_version(conn, row)
            current = reads.current_version(conn, dag_id)
            header = dag_header(conn, dag_id)
    except NotFoundError as exc:
        return not_found(request, user, str(exc))
    return {
        **header,
        "dag_id": dag_id,
        "ver": found,  # not "version": the shell shows Conveyor's version under that name
        "previous": previous,
        "current_hash": current,
        "run_id": request.query_params.get("run"),
    }


@pages.page("/dags/{dag_id}/versions/{version}/diff/{other}", "version_diff.html", nav="dags")
def diff_page(
    request: Request, dag_id: str, version: str, other: str, user: PageUser
) -> PageResult:
    view = request.query_params.get("view", "split")
    view = view if view in DIFF_VIEWS else "split"
    try:
        with get_store(request).read() as conn:
            old = reads.version_code(conn, dag_id, version)
            new = reads.version_code(conn, dag_id, other)
            header = dag_header(conn, dag_id)
    except NotFoundError as exc:
        return not_found(request, user, str(exc))
    lines = versions.unified_lines(old, new)
    return {
        **header,
        "dag_id": dag_id,
        "old": old,
        "new": new,
        "view": view,
        "changed": bool(lines),
        "unified": versions.unified_rows(lines),
        "split": versions.side_by_side(old.source, new.source),
    }


@router.get("/dags/{dag_id}/runs/{run_id}/code")
def run_code(request: Request, dag_id: str, run_id: str, user: PageUser) -> Response:
    """The DAG's code as of a run: the page of the version the run is pinned to."""
    try:
        with get_store(request).read() as conn:
            pinned = reads.run_version(conn, dag_id, run_id)
    except NotFoundError as exc:
        return not_found(request, user, str(exc))
    target = _renderer(request).url(_path(dag_id, "versions", pinned))
    return RedirectResponse(target + "?run=" + quote(run_id, safe=""), status_code=303)
