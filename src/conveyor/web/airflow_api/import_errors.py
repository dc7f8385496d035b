"""``/api/v2/importErrors``: the DAG files that fail to load.

Conveyor keeps one error per file, keyed by its path; Airflow numbers them, so the id
here is derived from the path (a CRC-32, stable while the file keeps failing). The file
name is given relative to the DAG folder, in the bundle ``dags-folder`` (Airflow's name for
the folder bundle). An error is shown to a caller who may see every DAG its file defined
when it last loaded; one of a file that never loaded, to a caller who may see every DAG.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel

from conveyor.store.reads import import_errors as error_reads
from conveyor.store.reads.import_errors import FileError
from conveyor.web.airflow_api.common import Page, Reader, TextFilters, paged, text_filters, utc
from conveyor.web.airflow_api.dag_scope import hidden_dag_ids
from conveyor.web.airflow_api.differences import differs
from conveyor.web.auth import User
from conveyor.web.deps import get_settings, get_store

router = APIRouter(prefix="/importErrors", tags=["Import Error"])

BUNDLE = "dags-folder"


class ImportErrorResponse(BaseModel):
    import_error_id: int
    timestamp: datetime
    filename: str
    bundle_name: str | None
    stack_trace: str


class ImportErrorCollectionResponse(BaseModel):
    import_errors: list[ImportErrorResponse]
    total_entries: int


def error_id(fileloc: str) -> int:
    """A file's error id: positive, within an INTEGER, the same for the same path."""
    return zlib.crc32(fileloc.encode()) & 0x7FFFFFFF


def _relative(request: Request, fileloc: str) -> str:
    folder = get_settings(request).dags_path
    try:
        return str(FilePath(fileloc).relative_to(folder))
    except ValueError:
        return fileloc


def _response(request: Request, found: FileError) -> ImportErrorResponse:
    where = f"{found.fileloc}:{found.line}" if found.line else found.fileloc
    trace = found.traceback or f"{where}: {found.message}"
    return ImportErrorResponse(
        import_error_id=error_id(found.fileloc),
        timestamp=utc(found.created_at) or found.created_at,
        filename=_relative(request, found.fileloc),
        bundle_name=BUNDLE,
        stack_trace=trace,
    )


def _visible(request: Request, user: User) -> list[FileError]:
    with get_store(request).read() as conn:
        found = error_reads.file_errors(conn)
        hidden = hidden_dag_ids(conn, user)
    if not hidden:
        return found
    return [e for e in found if e.dag_ids and not hidden & set(e.dag_ids)]


ORDER_FIELDS: dict[str, Any] = {
    "id": lambda e: error_id(e.fileloc),
    "import_error_id": lambda e: error_id(e.fileloc),
    "timestamp": lambda e: e.created_at,
    "filename": lambda e: e.fileloc,
    "bundle_name": lambda e: BUNDLE,
    "stacktrace": lambda e: e.traceback or e.message,
}


@router.get(
    "", openapi_extra=differs("import_error_id is derived from the file's path; bundle dags-folder")
)
def get_import_errors(
    request: Request,
    user: Reader,
    page: Annotated[Page, Depends(paged("id"))],
    texts: Annotated[TextFilters, Depends(text_filters("filename", max_length=1000))],
    filename: Annotated[str | None, Query(max_length=1000)] = None,
    bundle_name: Annotated[str | None, Query(max_length=250)] = None,
) -> ImportErrorCollectionResponse:
    match = texts.get("filename")
    found = [
        e
        for e in _visible(request, user)
        if (match is None or match(_relative(request, e.fileloc)))
        and (filename is None or filename in (e.fileloc, _relative(request, e.fileloc)))
        and (bundle_name is None or bundle_name == BUNDLE)
    ]
    return ImportErrorCollectionResponse(
        import_errors=[_response(request, e) for e in page.apply(found, ORDER_FIELDS)],
        total_entries=len(found),
    )


@router.get(
    "/{import_error_id}", openapi_extra=differs("import_error_id is derived from the file's path")
)
def get_import_error(
    request: Request, user: Reader, import_error_id: Annotated[int, Path(ge=0, le=2**31 - 1)]
) -> ImportErrorResponse:
    for found in _visible(request, user):
        if error_id(found.fileloc) == import_error_id:
            return _response(request, found)
    raise HTTPException(
        404, f"The ImportError with import_error_id: `{import_error_id}` was not found"
    )
