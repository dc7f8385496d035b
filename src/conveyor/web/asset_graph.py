"""The read model of assets (datasets) and of the links between DAGs.

Who produces an asset: the tasks whose ``outlets`` name it, in the DAGs' current versions.
Who consumes it: the DAGs scheduled on it. Links between DAGs besides assets: a
``TriggerDagRunOperator``'s ``trigger_dag_id`` and an ``ExternalTaskSensor``'s
``external_dag_id``, when written as plain text (a template is known only when it runs).
All of it comes from the store's serialized DAGs, never from DAG files.

Each read takes ``readable``, the DAGs the user may read (None: every DAG;
``web/dag_access.py``). A user who may read only some DAGs sees the assets those DAGs
produce, consume or emitted events of; of each, only those DAGs as producers and consumers,
only the events their tasks emitted (counted and shown), and only the links between two of
them: an unreadable DAG is not named anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from conveyor.exceptions import NotFoundError
from conveyor.loading.neighbours import references
from conveyor.model.datasets import ALIAS_PREFIX
from conveyor.model.schedules import DatasetSchedule
from conveyor.store import datasets, runs
from conveyor.store.engine import Connection
from conveyor.store.reads import dags as dag_reads
from conveyor.web.dag_access import Readable
from conveyor.web.schemas import from_row

ASSET_NODE = "asset:"  # an asset's node id in the dependency graph: never a DAG id (no ':')

EdgeKind = Literal["asset", "trigger", "sensor"]


class Producer(BaseModel):
    dag_id: str
    task_id: str


class AssetEvent(BaseModel):
    id: int | None = None
    source_dag_id: str
    source_run_id: str
    source_task_id: str
    source_map_index: int = Field(description="-1 unless a mapped task's instance updated it")
    at: datetime
    extra: dict[str, Any] = Field(default_factory=dict)
    source_alias: str | None = None


class AssetSummary(BaseModel):
    uri: str
    created_at: datetime | None = Field(description="its first event; None before any")
    events: int = Field(description="how many updates were recorded")
    last_event: AssetEvent | None
    producers: list[Producer] = Field(description="tasks whose outlets name the asset")
    consumers: list[str] = Field(description="DAGs scheduled on the asset")


class AssetList(BaseModel):
    assets: list[AssetSummary]


class AssetDetail(AssetSummary):
    recent_events: list[AssetEvent] = Field(description="the newest events, newest first")


class DependencyNode(BaseModel):
    id: str = Field(description="a DAG's id, or 'asset:' and the asset's URI")
    kind: Literal["dag", "asset"]
    label: str


class DependencyEdge(BaseModel):
    source: str
    target: str
    kind: EdgeKind = Field(
        description="asset: produces or is scheduled on; trigger: triggers a run of; "
        "sensor: the target waits for the source"
    )


class DagDependencies(BaseModel):
    nodes: list[DependencyNode]
    edges: list[DependencyEdge]


@dataclass
class _Links:
    producers: dict[str, list[Producer]] = field(default_factory=dict)  # uri -> tasks
    consumers: dict[str, list[str]] = field(default_factory=dict)  # uri -> DAGs
    between: set[tuple[str, str, EdgeKind]] = field(default_factory=set)  # DAG -> DAG
    dag_ids: list[str] = field(default_factory=list)


def _links(conn: Connection, readable: Readable) -> _Links:
    """Every active (readable) DAG's outlets, dataset schedule and triggered or awaited
    DAGs; a link between two DAGs only when both are readable."""
    found = _Links()
    for row in dag_reads.list_dag_rows(conn):
        if readable is not None and row.dag_id not in readable:
            continue
        found.dag_ids.append(row.dag_id)
        structure = runs.serialized_dag(conn, row.version_hash)
        for task_id, task in structure.tasks.items():
            for uri in task.raw.get("outlets") or []:
                found.producers.setdefault(uri, []).append(
                    Producer(dag_id=row.dag_id, task_id=task_id)
                )
        if isinstance(structure.schedule, DatasetSchedule):
            for uri in structure.schedule.uris:
                found.consumers.setdefault(uri, []).append(row.dag_id)
        refs = references(structure)
        found.between |= {(row.dag_id, target, "trigger") for target in refs.triggered}
        found.between |= {(awaited, row.dag_id, "sensor") for awaited in refs.awaited}
    if readable is not None:
        found.between = {(s, t, k) for s, t, k in found.between if {s, t} <= readable}
    return found


def _event(event: dict[str, Any] | datasets.EventRow) -> AssetEvent:
    if isinstance(event, dict):
        return AssetEvent(**event)
    return from_row(AssetEvent, event)


def _summaries(conn: Connection, links: _Links, readable: Readable) -> list[AssetSummary]:
    """The assets with events, and those only named so far (by an outlet or a schedule);
    ``readable`` given, only those its DAGs name or emitted events of."""
    named = set(links.producers) | set(links.consumers)
    found = {
        d.uri: from_row(
            AssetSummary,
            d,
            last_event=_event(d.last_event) if d.last_event else None,
            producers=links.producers.get(d.uri, []),
            consumers=sorted(links.consumers.get(d.uri, [])),
        )
        for d in datasets.list_datasets(conn, readable)
        if readable is None or d.events or d.uri in named
    }
    for uri in named:
        if uri not in found and not uri.startswith(ALIAS_PREFIX):
            found[uri] = AssetSummary(
                uri=uri,
                created_at=None,
                events=0,
                last_event=None,
                producers=links.producers.get(uri, []),
                consumers=sorted(links.consumers.get(uri, [])),
            )
    return [found[uri] for uri in sorted(found)]


def list_assets(conn: Connection, readable: Readable = None) -> AssetList:
    """Every asset an active DAG names (in an outlet or its schedule) or an event updated."""
    return AssetList(assets=_summaries(conn, _links(conn, readable), readable))


def get_asset(conn: Connection, uri: str, limit: int, readable: Readable = None) -> AssetDetail:
    """One asset with its newest ``limit`` events; NotFoundError for a URI never seen (or
    seen only by DAGs outside ``readable``)."""
    links = _links(conn, readable)
    found = next((s for s in _summaries(conn, links, readable) if s.uri == uri), None)
    if found is None:
        raise NotFoundError(f"no asset {uri!r}: no outlet, schedule or event has named it")
    events = [_event(e) for e in reversed(datasets.events_of(conn, uri, limit, readable))]
    return from_row(AssetDetail, found, recent_events=events)


def dependencies(conn: Connection, readable: Readable = None) -> DagDependencies:
    """DAGs and assets as a graph: producer -> asset -> consumer, and DAG -> DAG links."""
    links = _links(conn, readable)
    nodes = {d: DependencyNode(id=d, kind="dag", label=d) for d in links.dag_ids}
    edges: set[tuple[str, str, EdgeKind]] = set()
    for uri in sorted(set(links.producers) | set(links.consumers)):
        node = ASSET_NODE + uri
        label = uri.removeprefix(ALIAS_PREFIX) if uri.startswith(ALIAS_PREFIX) else uri
        nodes[node] = DependencyNode(id=node, kind="asset", label=label)
        edges |= {(p.dag_id, node, "asset") for p in links.producers.get(uri, [])}
        edges |= {(node, c, "asset") for c in links.consumers.get(uri, [])}
    for source, target, kind in links.between:
        for dag_id in (source, target):  # a DAG named but not (or no longer) parsed
            nodes.setdefault(dag_id, DependencyNode(id=dag_id, kind="dag", label=dag_id))
        edges.add((source, target, kind))
    linked = {n for s, t, _ in edges for n in (s, t)}
    return DagDependencies(
        nodes=[n for key, n in sorted(nodes.items()) if key in linked],
        edges=[DependencyEdge(source=s, target=t, kind=k) for s, t, k in sorted(edges)],
    )
