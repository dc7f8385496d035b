"""The assets pages: every asset with its producers and consumers, one asset's events, and
the graph of links between DAGs (assets, triggered runs, awaited DAGs), drawn on the server."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from conveyor.exceptions import NotFoundError
from conveyor.web import asset_graph
from conveyor.web.dag_access import cluster_reader
from conveyor.web.deps import get_store
from conveyor.web.ui.layout import LayoutError, layout_dag
from conveyor.web.ui.page import DAG_READER, PageResult, Pages, PageUser, nav_entry, not_found

pages = Pages()
router = pages.router
nav_entry("Assets", "/assets", order=50, role=DAG_READER, element_id="nav-assets")
EVENTS_SHOWN = 50
LABEL_CHARS = 34  # a node shows this much of its label; the whole one on hover


def _graph(found: asset_graph.DagDependencies) -> dict[str, Any]:
    """The dependency graph laid out left to right, each node and edge with its kind."""
    kinds = {n.id: n for n in found.nodes}
    try:
        layout = layout_dag(
            [n.id for n in found.nodes], [(e.source, e.target) for e in found.edges]
        )
    except LayoutError as exc:  # a cycle (two DAGs that trigger each other): the table stays
        return {"error": str(exc)}
    edge_kind = {(e.source, e.target): e.kind for e in found.edges}
    nodes = []
    for placed in layout.nodes:
        node = kinds[placed.id]
        short = (
            node.label if len(node.label) <= LABEL_CHARS else node.label[: LABEL_CHARS - 1] + "…"
        )
        nodes.append(
            {
                "id": node.id,
                "kind": node.kind,
                "label": node.label,
                "short": short,
                "x": placed.x,
                "y": placed.y,
                "width": placed.width,
                "height": placed.height,
            }
        )
    edges = [
        {
            "source": e.source,
            "target": e.target,
            "kind": edge_kind[(e.source, e.target)],
            "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in e.points),
        }
        for e in layout.edges
    ]
    return {"width": layout.width, "height": layout.height, "nodes": nodes, "edges": edges}


@pages.page("/assets", "assets.html", nav="assets")
def assets_page(request: Request, user: PageUser) -> PageResult:
    readable = cluster_reader(request, user)
    with get_store(request).read() as conn:
        found = asset_graph.list_assets(conn, readable)
        deps = asset_graph.dependencies(conn, readable)
    return {
        "assets": found.assets,
        "deps": deps,
        "graph": _graph(deps),
        "asset_node": asset_graph.ASSET_NODE,
    }


@pages.page("/assets/detail", "asset.html", nav="assets")
def asset_page(request: Request, user: PageUser, uri: str = "") -> PageResult:
    """One asset by its URI (in the query: URIs hold slashes); of a user who may read only
    some DAGs, as those DAGs see it (an asset none of them names is not found)."""
    readable = cluster_reader(request, user)
    with get_store(request).read() as conn:
        try:
            found = asset_graph.get_asset(conn, uri, EVENTS_SHOWN, readable)
        except NotFoundError as exc:
            return not_found(request, user, str(exc), nav="assets")
    return {"asset": found}
