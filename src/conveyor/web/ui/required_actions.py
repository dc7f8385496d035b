"""The Required actions page: every human-in-the-loop task awaiting a person's answer in the
DAGs the user may read, each with a form (its options, its params) that answers through
``PATCH /api/v2/.../hitlDetails``, as Airflow 3.1's page of the same name."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from conveyor.store import hitl
from conveyor.web.airflow_api.hitl_details import may_answer
from conveyor.web.dag_access import cluster_reader
from conveyor.web.deps import get_store
from conveyor.web.ui.page import DAG_READER, PageResult, Pages, PageUser, nav_entry

pages = Pages()
router = pages.router
nav_entry(
    "Required actions",
    "/required-actions",
    order=45,
    role=DAG_READER,
    keys=("required-actions",),
    element_id="nav-required-actions",
)
SHOWN = 200  # the oldest waiting first; the API lists them all


def _field(name: str, spec: Any) -> dict[str, Any]:
    """One param as the form asks for it: its kind of input, its default, its help."""
    spec = spec if isinstance(spec, dict) else {"value": spec}
    schema = spec.get("schema") or {}
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    return {
        "name": name,
        "kind": kind if kind in ("integer", "number", "boolean") else "string",
        "value": spec.get("value"),
        "description": spec.get("description"),
    }


@pages.page("/required-actions", "required_actions.html", nav="required-actions")
def required_actions_page(request: Request, user: PageUser) -> PageResult:
    readable = cluster_reader(request, user)
    where = hitl.QuestionFilter(dag_ids=readable, waiting_only=True, response_received=False)
    with get_store(request).read() as conn:
        waiting = hitl.listing(conn, where)[:SHOWN]
    waiting.sort(key=lambda q: q.created_at)
    return {
        "actions": [
            {
                "q": q,
                "fields": [_field(name, spec) for name, spec in q.params.items()],
                "refusal": may_answer(user, q.dag_id, q),
            }
            for q in waiting
        ]
    }
