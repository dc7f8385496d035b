"""``/api/v2/dags``: list, get, details, pause and unpause (one or many); deleting a DAG's
history is :mod:`.dag_deletion`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from conveyor.serialized import SerializedDag
from conveyor.states import RunStateName
from conveyor.store import dag_actions, favorites, runs
from conveyor.store.engine import Connection
from conveyor.store.reads import dag_files
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads.dags import DagRow
from conveyor.web import audit_trail, dag_list
from conveyor.web.airflow_api.common import (
    EDIT,
    DagIdPath,
    Editor,
    Limit,
    Offset,
    Page,
    Pattern,
    Reader,
    TextFilters,
    bounds,
    paged,
    require_dag,
    text_filters,
    visible_dag_ids,
)
from conveyor.web.airflow_api.dag_filters import DagFilters
from conveyor.web.airflow_api.dag_filters import apply as apply_filters
from conveyor.web.airflow_api.dag_shapes import (
    DAGCollectionResponse,
    DAGDetailsResponse,
    DAGPatchBody,
    DAGResponse,
    dag_details,
    dag_response,
)
from conveyor.web.airflow_api.text_match import either
from conveyor.web.auth import User
from conveyor.web.dag_list import DagQuery, ListedDag
from conveyor.web.deps import get_settings, get_store

router = APIRouter(tags=["DAG"])

DAG_ORDER = ("dag_id", "dag_display_name", "next_dagrun", "last_run_state", "last_run_start_date")
Words = Annotated[list[str] | None, Query(max_length=100)]


@dataclass(frozen=True)
class DagSelection:
    """The filters the list and ``PATCH /dags`` share, as Airflow's query parameters (a
    dependency: ``Annotated[DagSelection, Depends()]``)."""

    tags: Words = None
    tags_match_mode: Literal["any", "all"] | None = None
    owners: Words = None
    dag_id_pattern: Pattern = None
    dag_id_prefix_pattern: Pattern = None
    exclude_stale: bool = True
    paused: bool | None = None


Selection = Annotated[DagSelection, Depends()]


def _matching(
    conn: Connection,
    user: User,
    chosen: DagSelection,
    *,
    last_dag_run_state: str | None = None,
    action: str = "viewer",
) -> list[ListedDag]:
    """The DAGs the filters select, among those ``user`` may see (or act on)."""
    found = dag_list.list_dags(conn, DagQuery(include_inactive=not chosen.exclude_stale)).dags
    allowed = set(visible_dag_ids(user, [d.row.dag_id for d in found], action))
    wanted_tags = set(chosen.tags or ())
    wanted_owners = set(chosen.owners or ())
    tags_match_mode, paused = chosen.tags_match_mode, chosen.paused
    id_match = either(chosen.dag_id_pattern, chosen.dag_id_prefix_pattern)
    selected = []
    for dag in found:
        row = dag.row
        if row.dag_id not in allowed:
            continue
        if wanted_tags:
            have = set(row.tags)
            if (tags_match_mode == "all" and not wanted_tags <= have) or (
                tags_match_mode != "all" and not wanted_tags & have
            ):
                continue
        if wanted_owners:
            dag_owners = {o.strip() for o in (dag.facts.owner or "").split(",")}
            if not wanted_owners & dag_owners:
                continue
        if id_match is not None and not id_match(row.dag_id):
            continue
        if paused is not None and row.is_paused != paused:
            continue
        if last_dag_run_state and (
            dag.last_run is None or dag.last_run.state != last_dag_run_state
        ):
            continue
        selected.append(dag)
    return selected


def _responses(request: Request, conn: Connection, dags: list[ListedDag]) -> list[DAGResponse]:
    """Each listed DAG as Airflow shows it in a list (its display name, when last parsed)."""
    settings = get_settings(request)
    parsed = dag_files.parsed_times(conn, [d.row.fileloc for d in dags])
    return [
        dag_response(
            d.row,
            runs.serialized_dag(conn, d.row.version_hash),
            settings,
            d.facts.display_name,
            parsed.get(d.row.fileloc),
        )
        for d in dags
    ]


RunState = RunStateName


@router.get("/dags")
def get_dags(
    request: Request,
    user: Reader,
    newest_run: Annotated[
        dict[str, Any], Depends(bounds("dag_run_start_date", "dag_run_end_date"))
    ],
    selection: Selection,
    page: Annotated[Page, Depends(paged("dag_id"))],
    texts: Annotated[TextFilters, Depends(text_filters("dag_display_name"))],
    has_import_errors: bool | None = None,
    last_dag_run_state: RunState | None = None,
    # Airflow's list: a DAG with a run in any of the states given.
    dag_run_state: Annotated[list[RunState] | None, Query()] = None,
    bundle_name: Pattern = None,
    bundle_version: Pattern = None,
    is_favorite: bool | None = None,
    timetable_type: Words = None,
    has_asset_schedule: bool | None = None,
    asset_dependency: Pattern = None,
) -> DAGCollectionResponse:
    """DAGs, filtered and ordered as in Airflow; ``total_entries`` counts every match."""
    with get_store(request).read() as conn:
        found = _matching(conn, user, selection, last_dag_run_state=last_dag_run_state)
        wanted = DagFilters(
            texts=texts,
            has_import_errors=has_import_errors,
            dag_run_states=tuple(dag_run_state or ()),
            newest_run=_newest_run_bounds(newest_run),
            bundle_name=bundle_name,
            bundle_version=bundle_version,
            timetable_types=tuple(timetable_type or ()),
            has_asset_schedule=has_asset_schedule,
            asset_dependency=asset_dependency,
        )
        found = apply_filters(conn, found, wanted)
        if is_favorite is not None:  # the caller's own favourites (or all but them)
            mine = favorites.favorite_dag_ids(conn, user.username)
            found = [d for d in found if (d.row.dag_id in mine) == is_favorite]
        shown = page.apply(
            found,
            {
                "dag_id": lambda d: d.row.dag_id,
                "dag_display_name": lambda d: d.facts.display_name or d.row.dag_id,
                "next_dagrun": lambda d: d.row.next_run_after,
                "last_run_state": lambda d: d.last_run.state if d.last_run else None,
                "last_run_start_date": lambda d: d.last_run.logical_date if d.last_run else None,
            },
        )
        return DAGCollectionResponse(
            dags=_responses(request, conn, shown), total_entries=len(found)
        )


def _newest_run_bounds(given: dict[str, datetime]) -> dict[str, datetime]:
    """``dag_run_start_date_gte`` ... as bounds of the newest run's ``start_date_gte`` ..."""
    return {k.removeprefix("dag_run_"): v for k, v in given.items()}


@router.get("/dags/{dag_id}")
def get_dag(request: Request, dag_id: DagIdPath, user: Reader) -> DAGResponse:
    require_dag(user, dag_id)
    return _dag_response(request, dag_id)


@router.get("/dags/{dag_id}/details")
def get_dag_details(request: Request, dag_id: DagIdPath, user: Reader) -> DAGDetailsResponse:
    require_dag(user, dag_id)
    with get_store(request).read() as conn:
        row, dag, parsed = _current(conn, dag_id)
    return dag_details(row, dag, get_settings(request), parsed)


def _current(conn: Connection, dag_id: str) -> tuple[DagRow, SerializedDag, datetime | None]:
    """The DAG's row, its current version and when its file was last parsed."""
    row = dag_reads.get_dag(conn, dag_id)
    parsed = dag_files.parsed_times(conn, [row.fileloc]).get(row.fileloc)
    return row, runs.serialized_dag(conn, row.version_hash), parsed


def _dag_response(request: Request, dag_id: str) -> DAGResponse:
    with get_store(request).read() as conn:
        row, dag, parsed = _current(conn, dag_id)
    return dag_response(row, dag, get_settings(request), last_parsed=parsed)


def _check_mask(update_mask: list[str] | None) -> None:
    for name in update_mask or ():
        if name != "is_paused":
            raise HTTPException(
                400, f"Only `is_paused` field can be updated through the REST API, not {name!r}"
            )


@router.patch("/dags/{dag_id}")
def patch_dag(
    request: Request,
    dag_id: DagIdPath,
    body: DAGPatchBody,
    user: Editor,
    update_mask: Words = None,
) -> DAGResponse:
    """Pause or unpause a DAG."""
    _check_mask(update_mask)
    require_dag(user, dag_id, EDIT)
    with get_store(request).write() as conn:
        dag_actions.set_paused(conn, dag_id, body.is_paused)
    return _dag_response(request, dag_id)


@router.patch("/dags")
def patch_dags(
    request: Request,
    body: DAGPatchBody,
    user: Editor,
    selection: Selection,
    update_mask: Words = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DAGCollectionResponse:
    """Pause or unpause the page of DAGs the filters select (ordered by id), in one
    transaction; the answer lists them as they are after the change."""
    _check_mask(update_mask)
    page = Page.of(limit, offset, None, "dag_id")
    store = get_store(request)
    with store.write() as conn:
        found = _matching(conn, user, selection, action=EDIT)
        chosen = page.apply(found, {"dag_id": lambda d: d.row.dag_id})
        changed = dag_actions.set_paused_many(conn, [d.row.dag_id for d in chosen], body.is_paused)
    audit_trail.note_each(request, changed)
    with store.read() as conn:
        rows = {r.dag_id: r for r in dag_reads.list_dag_rows(conn, include_inactive=True)}
        changed_rows = [dataclasses.replace(d, row=rows[d.row.dag_id]) for d in chosen]
        dags = _responses(request, conn, changed_rows)
    return DAGCollectionResponse(dags=dags, total_entries=len(found))
