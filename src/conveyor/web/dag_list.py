"""The DAG list at scale: search, filters, sort and a page of a few thousand DAGs.

The rows are read without their serialized DAGs; what the list shows from one (the
owners, the schedule in words) is computed once per DAG version and kept, since a version
never changes. Filtering and sorting then run over small rows, and only the page's DAGs get
their recent runs read.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from conveyor.states import RunStateName
from conveyor.store.engine import Connection
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads.dags import DagRow, RecentRun

#: How the list may be sorted; "-" first for descending.
DAG_ORDERS = ("dag_id", "last_run", "next_run")
DagOrder = Literal["dag_id", "-dag_id", "last_run", "-last_run", "next_run", "-next_run"]
#: The state filter: the state of the DAG's newest run, or whether it is paused.
DagState = Literal[RunStateName, "paused", "active"]


@dataclass(frozen=True)
class DagQuery:
    """Which DAGs a list shows and in what order (``limit`` None: all of them)."""

    include_inactive: bool = False
    tags: tuple[str, ...] = ()  # any of them
    search: str | None = None  # every word in the id, description, tags or owners
    state: str | None = None  # a DagState
    order: str = "dag_id"
    limit: int | None = None
    offset: int = 0
    dag_ids: frozenset[str] | None = None  # only these DAGs (those the user may read)


@dataclass(frozen=True)
class VersionFacts:
    owner: str | None
    schedule: str | None  # the schedule in words, when the version has it
    display_name: str | None = None  # dag_display_name, when the version has one


@dataclass(frozen=True)
class ListedDag:
    row: DagRow
    facts: VersionFacts
    last_run: RecentRun | None


@dataclass(frozen=True)
class DagPage:
    """One page of the list, how many matched, and how many of those are in each state."""

    dags: list[ListedDag]
    total: int
    counts: dict[str, int]


_facts: OrderedDict[str, VersionFacts] = OrderedDict()  # version hash -> facts
_FACTS_KEPT = 20_000


#: A task's owner when its file names none, as Airflow's ``[operators] default_owner``
#: (``model.task.DEFAULT_OWNER``, not imported: the CLI's reads do not load the model).
DEFAULT_OWNER = "airflow"


def owners(serialized: dict[str, Any]) -> str | None:
    """The owners of a DAG's tasks, as Airflow's DAG.owner joins them."""
    tasks = serialized.get("tasks", [])
    found = sorted({t.get("owner") or DEFAULT_OWNER for t in tasks})
    return ", ".join(found) or None


def _version_facts(conn: Connection, hashes: list[str]) -> dict[str, VersionFacts]:
    missing = sorted({h for h in hashes if h not in _facts})
    for version_hash, serialized in dag_reads.serialized_versions(conn, missing).items():
        _facts[version_hash] = VersionFacts(
            owners(serialized),
            serialized.get("schedule_description"),
            serialized.get("dag_display_name"),
        )
    while len(_facts) > _FACTS_KEPT:
        _facts.popitem(last=False)
    empty = VersionFacts(None, None)
    return {h: _facts.get(h, empty) for h in hashes}


def _matches_search(dag: ListedDag, words: list[str]) -> bool:
    row = dag.row
    hay = " ".join(
        [
            row.dag_id,
            dag.facts.display_name or "",
            row.description or "",
            dag.facts.owner or "",
            *row.tags,
        ]
    ).lower()
    return all(word in hay for word in words)


def _state_of(dag: ListedDag) -> set[str]:
    found = {"paused" if dag.row.is_paused else "active"}
    if dag.last_run is not None:
        found.add(dag.last_run.state)
    return found


def _sort_key(name: str) -> Callable[[ListedDag], Any]:
    if name == "last_run":
        return lambda d: d.last_run.logical_date if d.last_run else None
    if name == "next_run":
        return lambda d: None if d.row.is_paused else d.row.next_run_after
    return lambda d: d.row.dag_id


def _sorted(dags: list[ListedDag], order: str) -> list[ListedDag]:
    """Sorted by ``order``; a DAG without the date sorted on comes last either way."""
    name = order.lstrip("-")
    if name not in DAG_ORDERS:
        raise ValueError(f"cannot sort DAGs by {order!r} (one of {', '.join(DAG_ORDERS)})")
    key = _sort_key(name)
    dated = [d for d in dags if key(d) is not None]
    undated = [d for d in dags if key(d) is None]
    dated.sort(key=lambda d: (key(d), d.row.dag_id), reverse=order.startswith("-"))
    return dated + undated


def list_dags(conn: Connection, query: DagQuery) -> DagPage:
    rows = dag_reads.list_dag_rows(conn, include_inactive=query.include_inactive)
    if query.dag_ids is not None:
        rows = [r for r in rows if r.dag_id in query.dag_ids]
    if query.tags:
        wanted = set(query.tags)
        rows = [r for r in rows if wanted.intersection(r.tags)]
    facts = _version_facts(conn, [r.version_hash for r in rows])
    last = dag_reads.last_runs(conn)
    dags = [ListedDag(r, facts[r.version_hash], last.get(r.dag_id)) for r in rows]
    words = (query.search or "").lower().split()
    if words:
        dags = [d for d in dags if _matches_search(d, words)]
    counts = {"all": len(dags)}
    for dag in dags:
        for state in _state_of(dag):
            counts[state] = counts.get(state, 0) + 1
    if query.state:
        dags = [d for d in dags if query.state in _state_of(d)]
    dags = _sorted(dags, query.order)
    end = None if query.limit is None else query.offset + query.limit
    return DagPage(dags[query.offset : end], len(dags), counts)
