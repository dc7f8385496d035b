"""docs/api.md's table of every route of Airflow's API is the one the routes make: a route
served, served with its difference, or answered 501 cannot drift from what the page says."""

from __future__ import annotations

from pathlib import Path

from conveyor.web.airflow_api import route_table
from conveyor.web.airflow_api.unserved import AIRFLOW_ROUTES

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_the_page_holds_the_table_the_routes_make() -> None:
    table = route_table.render_table()
    text = DOC.read_text()
    assert f"{route_table.START}\n{table}{route_table.END}" in text, (
        "run: python -m conveyor.web.airflow_api.route_table --write"
    )


def test_every_route_of_the_spec_has_a_row_and_the_counts_add_up() -> None:
    table = route_table.render_table()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`/api/v2" in line]
    assert len(rows) == len(AIRFLOW_ROUTES)
    served = sum(1 for r in rows if "| served" in r)
    assert f"of {len(AIRFLOW_ROUTES)} in Airflow's spec" in table
    assert served + sum(1 for r in rows if "| 501" in r) == len(rows)
    assert "| GET | `/api/v2/variables` | served, with a difference: the op role" in table
    assert "| PUT | `/api/v2/assets/{asset_id}/state-store/{key}` | served |" in table
    assert "| POST | `/api/v2/assets/{asset_id}/materialize` | served, with a difference" in table
    # Issue 65: every route of Airflow's spec is served, none answers 501.
    assert not [r for r in rows if "| 501" in r]
    assert "0 answered 501" in table
