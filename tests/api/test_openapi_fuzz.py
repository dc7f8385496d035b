"""Property-based requests generated from the OpenAPI document: the API never answers 5xx.

Schemathesis reads ``/api/v1/openapi.json`` and sends generated requests (valid and
invalid) to every operation as an authenticated admin, against a store with real DAGs,
runs, tries, logs and XCom.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_helpers import (
    PREFIX,
    World,
    world_fixture,  # noqa: F401  (fixtures)
)
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from conveyor.config import Settings
from conveyor.web import accounts
from conveyor.web.app import create_app


@pytest.fixture
def admin_headers(world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_token(world.store, 'admin', 'fuzz')}"}


def _schema_app() -> Any:
    """An app only to read the document from; the requests go to the ``world`` fixture's."""
    settings = Settings(
        home=Path(tempfile.gettempdir()),
        database_url="sqlite://",
        secret_key=secrets.token_hex(32),  # a real key: one repeated character is refused
        base_url=PREFIX,
    )
    return create_app(settings)


schema = schemathesis.openapi.from_asgi(f"{PREFIX}/api/v1/openapi.json", _schema_app())


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_the_api_fail(
    case: Any, world: World, admin_headers: dict[str, str]
) -> None:
    if case.path == "/api/v1/health":  # 503 is its documented answer when unhealthy
        status = case.call(app=world.app).status_code
        assert status < 500 or status == 503
        return
    case.call_and_validate(app=world.app, headers=admin_headers, checks=[not_a_server_error])
