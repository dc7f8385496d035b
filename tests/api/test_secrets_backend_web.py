"""The web neither asks the secrets backend nor shows what it holds: its connection and
variable pages and API answer from the environment and the store, while a try (and the CLI)
would read the backend's value first (docs/security.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import make_settings, token_clients
from conveyor.connections import backends, repository
from conveyor.connections.models import Connection
from conveyor.store.engine import Store
from conveyor.web.app import create_app

LOCAL = "airflow.secrets.local_filesystem.LocalFilesystemBackend"


@pytest.fixture
def admin(tmp_path: Path, store: Store) -> Iterator[tuple[Any, Any]]:
    conns = tmp_path / "conns.json"
    conns.write_text(json.dumps({"warehouse": "postgresql://etl:Backend-Pw-1@backend-db/dw"}))
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({"region": "backend-region", "only_backend": "x-value"}))
    settings = make_settings(
        tmp_path,
        tmp_path / "dags",
        store.url,
        secrets_backend=LOCAL,
        secrets_backend_kwargs={
            "connections_file_path": str(conns),
            "variables_file_path": str(variables),
        },
    )
    repository.set_connection(
        store, settings, Connection.from_uri("warehouse", "postgresql://etl:pw@stored-db/dw")
    )
    repository.set_variable(store, settings, "region", "stored-region")
    backends.forget_loaded()
    app_store = Store(store.url)
    client = token_clients(create_app(settings, app_store), store)["admin"]
    yield client, settings
    client.close()
    app_store.dispose()
    backends.forget_loaded()


def test_the_api_answers_from_the_store_not_the_backend(
    admin: tuple[Any, Any], store: Store
) -> None:
    client, settings = admin
    # What a try reads: the backend's.
    assert repository.get_connection(store, settings, "warehouse").host == "backend-db"
    assert repository.get_variable(store, settings, "region") == "backend-region"

    conn = client.get("/api/v1/connections/warehouse")
    assert conn.status_code == 200, conn.text
    assert conn.json()["host"] == "stored-db"
    listed = client.get("/api/v1/connections").text
    assert "backend-db" not in listed and "stored-db" in listed
    var = client.get("/api/v1/variables/region")
    assert var.status_code == 200 and var.json()["value"] == "stored-region"
    assert client.get("/api/v1/variables/only_backend").status_code == 404
    assert "x-value" not in client.get("/api/v1/variables").text
    page = client.get("/admin/variables")
    assert page.status_code == 200 and "stored-region" in page.text, page.text[:500]
    assert "backend-region" not in page.text
