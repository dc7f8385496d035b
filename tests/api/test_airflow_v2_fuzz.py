"""Property-based requests generated from ``/api/v2/openapi.json``: Airflow's API as
Conveyor serves it never answers 5xx, but 501 for a method of Airflow's that a served path
does not take (``DELETE`` on a task instance, say).

As tests/api/test_openapi_fuzz.py does for ``/api/v1``: valid and invalid requests to every
operation, as an admin holding an access token from ``POST /auth/token``, against a store
with real DAGs, runs, tries, logs and XComs.
"""

from __future__ import annotations

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

from conveyor.config import Settings
from conveyor.web.app import create_app


@pytest.fixture
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


schema = schemathesis.openapi.from_asgi(f"{PREFIX}/api/v2/openapi.json", _schema_app())


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_airflows_api_fail(
    case: Any, world: World, admin_headers: dict[str, str]
) -> None:
    response = case.call(app=world.app, headers=admin_headers)
    if response.status_code == 501:
        # Another method of a served path that Airflow has and Conveyor does not serve.
        assert "does not serve" in response.json()["detail"], response.text
        return
    assert response.status_code < 500, (case.method, case.formatted_path, response.text)
