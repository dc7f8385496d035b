"""What the lists across DAGs share: a date window, states, a part of an id, paging."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import HTTPException, Query

from conveyor.states import RunState, TaskState
from conveyor.store.reads.runs import Window
from conveyor.web.api.common import MAX_INT

Part = Annotated[str | None, Query(max_length=250, description="a part of the id, any case")]
OneDag = Annotated[str | None, Query(max_length=250, description="one DAG")]
States = Annotated[list[str] | None, Query(description="repeat (or comma-separate) for several")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="skip this many")]
Bound = Annotated[datetime | None, Query(description="ISO 8601 with a time zone")]

RUN_STATES = {s.value for s in RunState}
#: How a run came to be, as ``dag_run.run_type`` and Airflow's ``DagRunType`` spell it.
RUN_TYPES = {"scheduled", "manual", "backfill", "dataset_triggered", "asset_materialize"}
TASK_STATES = {s.value for s in TaskState}


def window(
    logical_date_gte: Bound = None,
    logical_date_lte: Bound = None,
    start_date_gte: Bound = None,
    start_date_lte: Bound = None,
    end_date_gte: Bound = None,
    end_date_lte: Bound = None,
) -> Window:
    """The date bounds of a list (inclusive); each needs a time zone."""
    bounds = {
        "logical_date_gte": logical_date_gte,
        "logical_date_lte": logical_date_lte,
        "start_date_gte": start_date_gte,
        "start_date_lte": start_date_lte,
        "end_date_gte": end_date_gte,
        "end_date_lte": end_date_lte,
    }
    for name, value in bounds.items():
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, f"{name}: give a time zone, e.g. 2026-01-01T00:00:00Z")
    return Window(**bounds)


def states(
    given: list[str] | None, known: set[str], what: str, name: str = "state"
) -> tuple[str, ...]:
    """The states (or run types: ``name``) asked for, repeated or comma-separated, each one
    ``known``."""
    found = tuple(s for value in given or [] for s in value.split(",") if s)
    wrong = [s for s in found if s not in known]
    if wrong:
        noun = f"{what} state" if name == "state" else name.replace("_", " ")
        raise HTTPException(
            422,
            f"{name}: {', '.join(map(repr, wrong))} is not a {noun} "
            f"(one of {', '.join(sorted(known))})",
        )
    return found


def order(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value.lstrip("-") not in allowed:
        raise HTTPException(
            422,
            f"order_by: cannot order {what} by {value!r} (one of {', '.join(allowed)}, "
            "'-' first for descending)",
        )
    return value
