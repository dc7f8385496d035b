"""The date and duration bounds of Airflow's batch list bodies (``POST .../list`` of runs
and of task instances), declared once for both."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from conveyor.web.airflow_api.common import aware

Bound = datetime | None


class BatchBounds(BaseModel):
    """Each bound optional, ``gt``/``lt`` strict and ``gte``/``lte`` inclusive.

    A body puts these between its own fields as Airflow's document orders them: pydantic
    lays out a model's fields base by base from the last base to the first, then its own,
    so ``class Body(BatchBounds, Head)`` has Head's fields, these, then Body's."""

    run_after_gte: Bound = None
    run_after_gt: Bound = None
    run_after_lte: Bound = None
    run_after_lt: Bound = None
    logical_date_gte: Bound = None
    logical_date_gt: Bound = None
    logical_date_lte: Bound = None
    logical_date_lt: Bound = None
    start_date_gte: Bound = None
    start_date_gt: Bound = None
    start_date_lte: Bound = None
    start_date_lt: Bound = None
    end_date_gte: Bound = None
    end_date_gt: Bound = None
    end_date_lte: Bound = None
    end_date_lt: Bound = None
    duration_gte: float | None = None
    duration_gt: float | None = None
    duration_lte: float | None = None
    duration_lt: float | None = None

    def date_bounds(self) -> dict[str, datetime]:
        """The date bounds given, by name, in UTC (422 naming one without a time zone)."""
        dates = {
            name: aware(name, getattr(self, name), "body")
            for name in BatchBounds.model_fields
            if not name.startswith("duration_")
        }
        return {name: when for name, when in dates.items() if when is not None}

    def duration_bounds(self) -> dict[str, float]:
        """The duration bounds given, in seconds, by name."""
        durations = {
            name: getattr(self, name)
            for name in BatchBounds.model_fields
            if name.startswith("duration_")
        }
        return {name: seconds for name, seconds in durations.items() if seconds is not None}
