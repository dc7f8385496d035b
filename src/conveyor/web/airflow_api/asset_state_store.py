"""``/api/v2/assets/{asset_id}/state-store``: read, set and delete the values kept on an
asset (Airflow 3.3's asset state store), which the tasks naming the asset read and write.

An asset is not a DAG's: reading needs the viewer role, writing the op role (as the other
asset routes). An unknown asset (or an alias's id) is a 404. Each value says who wrote it
last: a task instance (``kind`` "task") or someone through this API ("api").
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from conveyor.store import state_store
from conveyor.store.datasets import asset_uri
from conveyor.store.engine import Connection
from conveyor.store.state_store import API_WRITER, WriterKind
from conveyor.web.airflow_api.common import Editor, Page, Reader, RowShape, UtcTime, fixed_order
from conveyor.web.airflow_api.state_values import KeyPath, checked_value, key_not_found
from conveyor.web.audit_trail import note as audit_note
from conveyor.web.deps import get_store

router = APIRouter(tags=["Asset State Store"])

BASE = "/assets/{asset_id}/state-store"
KEY = BASE + "/{key:path}"
AssetIdPath = Annotated[int, Path(ge=0, le=2**31 - 1)]


class AssetStateStoreLastUpdatedBy(RowShape):
    kind: WriterKind
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int | None = None


class AssetStateStoreResponse(RowShape):
    key: str
    value: Any
    updated_at: UtcTime
    last_updated_by: AssetStateStoreLastUpdatedBy | None = Field(
        default=None, validation_alias="writer"
    )


class AssetStateStoreCollectionResponse(BaseModel):
    asset_state_store: list[AssetStateStoreResponse]
    total_entries: int


class AssetStateStoreBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Any


def _asset_or_404(conn: Connection, asset_id: int) -> int:
    if asset_uri(conn, asset_id) is None:
        raise HTTPException(404, f"Asset with id {asset_id} not found")
    return asset_id


@router.get(BASE)
def list_asset_state_store(
    request: Request,
    asset_id: AssetIdPath,
    user: Reader,
    page: Annotated[Page, Depends(fixed_order("key"))],
) -> AssetStateStoreCollectionResponse:
    """The asset's values in key order."""
    with get_store(request).read() as conn:
        _asset_or_404(conn, asset_id)
        entries, total = state_store.asset_entries(conn, asset_id, page.limit, page.offset)
    return AssetStateStoreCollectionResponse(
        asset_state_store=[AssetStateStoreResponse.model_validate(e) for e in entries],
        total_entries=total,
    )


@router.get(KEY)
def get_asset_state_store(
    request: Request, asset_id: AssetIdPath, key: KeyPath, user: Reader
) -> AssetStateStoreResponse:
    with get_store(request).read() as conn:
        _asset_or_404(conn, asset_id)
        found = state_store.asset_entry(conn, asset_id, key)
    if found is None:
        raise key_not_found("Asset", key)
    return AssetStateStoreResponse.model_validate(found)


@router.put(KEY, status_code=204)
def set_asset_state_store(
    request: Request,
    asset_id: AssetIdPath,
    key: KeyPath,
    body: AssetStateStoreBody,
    user: Editor,
) -> Response:
    """Create or overwrite the key; the value is marked as written through the API."""
    value = checked_value(body.value)
    with get_store(request).write() as conn:
        _asset_or_404(conn, asset_id)
        state_store.set_asset_value(conn, asset_id, key, value, API_WRITER)
    audit_note(request, target=f"asset/{asset_id}/{key}")
    return Response(status_code=204)


@router.delete(KEY, status_code=204)
def delete_asset_state_store(
    request: Request, asset_id: AssetIdPath, key: KeyPath, user: Editor
) -> Response:
    """Delete one key; nothing happens when the asset has none."""
    with get_store(request).write() as conn:
        _asset_or_404(conn, asset_id)
        state_store.delete_asset_value(conn, asset_id, key)
    audit_note(request, target=f"asset/{asset_id}/{key}")
    return Response(status_code=204)


@router.delete(BASE, status_code=204)
def clear_asset_state_store(request: Request, asset_id: AssetIdPath, user: Editor) -> Response:
    """Delete every key of the asset."""
    with get_store(request).write() as conn:
        _asset_or_404(conn, asset_id)
        gone = state_store.clear_asset_values(conn, asset_id)
    audit_note(request, target=f"asset/{asset_id}", deleted=gone)
    return Response(status_code=204)
