"""``GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/wait``: follow a run to its end.

As Airflow's: newline-delimited JSON, a ``{"state": ...}`` line each ``interval`` seconds
until the run has finished, the last line with ``results``: the ``return_value`` XCom of
each task named by ``result`` (Conveyor has no "return task" of a DAG, so without
``result`` there are none). The request holds no transaction while it waits.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from conveyor.states import RUN_FINISHED as FINISHED
from conveyor.store.engine import Store
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.web.airflow_api.common import DagIdPath, Reader, RunIdPath, require_dag
from conveyor.web.deps import get_store

router = APIRouter(tags=["DagRun", "experimental"])

#: The shortest wait between two looks at the run, whatever ``interval`` asks.
SHORTEST_INTERVAL = 0.1


def _look(store: Store, dag_id: str, run_id: str, results: list[str]) -> dict[str, Any]:
    with store.read() as conn:
        run = run_reads.get_run(conn, dag_id, run_id)
        line: dict[str, Any] = {"state": run.state}
        if run.state in FINISHED and results:
            found = {}
            for task_id in results:
                values = task_reads.xcom_values(conn, run.id, task_id)
                found[task_id] = next((x.value for x in values if x.key == "return_value"), None)
            line["results"] = found
    return line


@router.get(
    "/dags/{dag_id}/dagRuns/{dag_run_id}/wait",
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def wait_dag_run_until_finished(
    request: Request,
    dag_id: DagIdPath,
    dag_run_id: RunIdPath,
    user: Reader,
    interval: Annotated[float, Query(gt=0, le=3600)],
    result: Annotated[list[str] | None, Query(max_length=250)] = None,
) -> StreamingResponse:
    require_dag(user, dag_id)
    store = get_store(request)
    first = _look(store, dag_id, dag_run_id, result or [])  # 404 before the stream starts

    async def lines() -> AsyncIterator[str]:
        line = first
        while True:
            yield json.dumps(line) + "\n"
            if line["state"] in FINISHED:
                return
            await anyio.sleep(max(interval, SHORTEST_INTERVAL))
            line = await run_in_threadpool(_look, store, dag_id, dag_run_id, result or [])

    return StreamingResponse(lines(), media_type="application/x-ndjson")
