"""A DAG's versions: the list, one version's code, the diff between two."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from conveyor.web import versions
from conveyor.web.api.common import AUTH, MAX_INT, DagId, DagViewer
from conveyor.web.deps import get_store

router = APIRouter(tags=["dags"], responses=AUTH)

VersionId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[0-9A-Fa-f]+$",
        description="the version's hash, or a unique prefix of at least 6 characters",
    ),
]
NO_VERSION: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such DAG, or no such version of it"}
}


@router.get("/dags/{dag_id}/versions", responses=NO_VERSION)
def list_versions(
    request: Request,
    dag_id: DagId,
    user: DagViewer,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many versions")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT, description="skip this many, newest first")] = 0,
) -> versions.DagVersionList:
    """The versions of the DAG the store saw, newest first, with how many runs used each;
    ``total`` counts them all."""
    with get_store(request).read() as conn:
        return versions.list_versions(conn, dag_id, limit, offset)


@router.get("/dags/{dag_id}/versions/{version}", responses=NO_VERSION)
def get_version(
    request: Request, dag_id: DagId, version: VersionId, user: DagViewer
) -> versions.DagVersionCode:
    """One version: the DAG file's source as it was parsed, and the runs pinned to it."""
    with get_store(request).read() as conn:
        return versions.version_code(conn, dag_id, version)


@router.get("/dags/{dag_id}/versions/{version}/diff/{other}", responses=NO_VERSION)
def diff_versions(
    request: Request, dag_id: DagId, version: VersionId, other: VersionId, user: DagViewer
) -> versions.DagVersionDiff:
    """The unified diff from the source of ``version`` to that of ``other``."""
    with get_store(request).read() as conn:
        return versions.diff(conn, dag_id, version, other)
