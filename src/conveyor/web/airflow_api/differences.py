"""How a served ``/api/v2`` route differs from Airflow's, said on the route itself
(``openapi_extra=differs(...)``), so that docs/api.md's table (``route_table``) is made
from the routes and cannot drift from them."""

from __future__ import annotations

from typing import Any

DIFFERENCE = "x-conveyor-difference"


def differs(text: str) -> dict[str, Any]:
    """A route's ``openapi_extra`` saying how it differs from Airflow's."""
    return {DIFFERENCE: text}
