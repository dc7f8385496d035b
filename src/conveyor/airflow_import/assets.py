"""Which asset events an import takes, and which of them DAGs scheduled on assets still wait for.

Airflow queues an update for each DAG scheduled on the asset (``asset_dag_run_queue``) until
the DAG's next asset-triggered run consumes it. The import takes the events, and queues for
a DAG exactly the updates Airflow had queued for it: an event a run of Airflow's consumed is
not queued again (no run repeats it), one still queued is (no update is lost). A queue row
names the asset, not the event: the update it stands for is the last event of the asset
before the row was written (Airflow writes it as it records the event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from conveyor.store.airflow_import.records import AirflowAssetEvent, AirflowContents


@dataclass(frozen=True)
class QueuedUpdate:
    """An update a DAG scheduled on assets had not consumed: ``event``, an index into the
    plan's events."""

    uri: str
    dag_id: str
    event: int


def pending_updates(
    contents: AirflowContents, dag_ids: set[str]
) -> tuple[list[QueuedUpdate], list[str]]:
    """The updates to queue for DAGs in ``dag_ids``, and the problems (a queued update of a
    DAG not taken, or whose event is gone)."""
    queued: list[QueuedUpdate] = []
    problems: list[str] = []
    for row in contents.asset_queue:
        if row.target_dag_id not in dag_ids:
            problems.append(
                f"asset update of {row.uri} queued for DAG {row.target_dag_id!r}: the DAG is "
                "not taken, nor its update"
            )
            continue
        event = _event_of(contents.asset_events, row.uri, row.since)
        if event is None:
            problems.append(
                f"asset update of {row.uri} queued for DAG {row.target_dag_id!r}: no event of "
                "the asset in Airflow's table; the DAG waits for the next one"
            )
            continue
        queued.append(QueuedUpdate(row.uri, row.target_dag_id, event))
    return queued, problems


def _event_of(events: list[AirflowAssetEvent], uri: str, since: datetime) -> int | None:
    """The last event of ``uri`` recorded by ``since``, else the first after it."""
    of_asset = [i for i, e in enumerate(events) if e.uri == uri]
    before = [i for i in of_asset if events[i].at <= since]
    if before:
        return before[-1]
    return of_asset[0] if of_asset else None
