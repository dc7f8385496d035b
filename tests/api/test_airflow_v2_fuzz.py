"""Property-based requests generated from ``/api/v2/openapi.json``: Airflow's API as
Conveyor serves it never answers 5xx (501 included: every route of Airflow's spec is
served), answers only the status codes its document lists, and its answers have the shapes
the document gives.

As tests/api/test_openapi_fuzz.py does for ``/api/v1``: valid and invalid requests to every
operation, as an admin holding an access token from ``POST /auth/token``, against a store
with real DAGs, runs, tries, logs and XComs.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_helpers import (
    PASSWORDS,
    PREFIX,
    World,
    world_fixture,  # noqa: F401  (fixtures)
)
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from conveyor.config import Settings
from conveyor.web.app import create_app


@pytest.fixture(scope="module")
def admin_headers(world: World) -> dict[str, str]:
    client = world.client()
    answer = client.post("/auth/token", json={"username": "admin", "password": PASSWORDS["admin"]})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _schema_app() -> Any:
    """An app only to read the document from; the requests go to the ``world`` fixture's."""
    settings = Settings(
        home=Path(tempfile.gettempdir()),
        database_url="sqlite://",
        secret_key=secrets.token_hex(32),
        base_url=PREFIX,
    )
    return create_app(settings)


#: Examples per operation and backend: the suite's time budget, not a search for depth.
MAX_EXAMPLES = int(os.environ.get("CONVEYOR_TEST_FUZZ_EXAMPLES", "5"))

schema = schemathesis.openapi.from_asgi(f"{PREFIX}/api/v2/openapi.json", _schema_app())
# The coverage phase sends dozens of boundary cases per operation whatever MAX_EXAMPLES
# says; over 128 operations and two stores it took minutes. The examples below stay.
schema.config.phases.coverage.enabled = False


#: What the world holds, for the path parameters of reads.
KNOWN = {"dag_id": "pipeline", "task_id": "extract", "map_index": -1, "xcom_key": "return_value"}

#: What every answer is checked for; a 501 is a server error like any other.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_airflows_api_fail_or_stray_from_its_document(
    case: Any, world: World, admin_headers: dict[str, str]
) -> None:
    if case.method == "GET" and case.path_parameters:
        # Reads name what the world holds, so that whole answers are checked against the
        # document, not only 404s; writes keep their generated ids (they find nothing to
        # change, and the module's world stays as the reads expect it).
        known = {**KNOWN, "dag_run_id": world.run_ids["pipeline"]}
        for name in case.path_parameters:
            if name in known:
                case.path_parameters[name] = known[name]
    case.call_and_validate(app=world.app, headers=admin_headers, checks=CHECKS)
