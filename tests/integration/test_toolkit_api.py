"""Connections and variables over the REST API: roles, masking, bad input as 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import make_settings, token_clients
from conveyor.connections import repository
from conveyor.store.engine import Store
from conveyor.web.app import create_app

PASSWORD = "pw-9s8d7f6g"


@pytest.fixture
def clients(tmp_path: Path, store_url: str) -> Iterator[tuple[dict[str, TestClient], Store]]:
    settings = make_settings(tmp_path, tmp_path / "dags", store_url)
    store = Store(store_url)
    app = create_app(settings, Store(store_url))
    found = token_clients(app, store)
    try:
        yield found, store
    finally:
        for client in found.values():
            client.close()
        store.dispose()


def test_admins_write_ops_read_masked_viewers_are_refused(
    clients: tuple[dict[str, TestClient], Store], tmp_path: Path, store_url: str
) -> None:
    by, store = clients
    uri = f"postgresql://etl:{PASSWORD}@db.local:5432/sales?api_key=k-55667788"
    put = by["admin"].put("/api/v1/connections/warehouse", json={"uri": uri})
    assert put.status_code == 200, put.text
    assert put.json()["password"] == "***" and PASSWORD not in put.text
    assert by["op"].put("/api/v1/connections/x", json={"uri": uri}).status_code == 403

    got = by["op"].get("/api/v1/connections/warehouse")
    assert got.status_code == 200
    body = got.json()
    assert (body["host"], body["port"], body["schema"]) == ("db.local", 5432, "sales")
    assert body["password"] == "***" and body["extra"] == {"api_key": "***"}
    assert PASSWORD not in got.text and "k-55667788" not in got.text
    assert by["op"].get("/api/v1/connections/warehouse?reveal=true").status_code == 403
    revealed = by["admin"].get("/api/v1/connections/warehouse?reveal=true").json()
    assert revealed["password"] == PASSWORD
    assert by["viewer"].get("/api/v1/connections").status_code == 403
    assert [c["conn_id"] for c in by["op"].get("/api/v1/connections").json()["connections"]] == [
        "warehouse"
    ]

    assert (
        by["admin"].put("/api/v1/variables/slack_token", json={"value": "xoxb-1"}).status_code
        == 200
    )
    assert by["admin"].put("/api/v1/variables/region", json={"value": "eu"}).status_code == 200
    listed = by["op"].get("/api/v1/variables").json()["variables"]
    assert {v["key"]: v["value"] for v in listed} == {"region": "eu", "slack_token": "***"}
    # What the API stored is what tasks read, encrypted under the same key.
    settings = make_settings(tmp_path, tmp_path / "dags", store_url)
    assert repository.get_variable(store, settings, "slack_token") == "xoxb-1"

    assert by["admin"].delete("/api/v1/variables/region").status_code == 204
    missing = by["op"].get("/api/v1/variables/region")
    assert missing.status_code == 404 and "no variable 'region'" in missing.json()["detail"]
    assert by["admin"].delete("/api/v1/connections/warehouse").status_code == 204
    assert by["op"].get("/api/v1/connections/warehouse").status_code == 404


BAD_INPUT = [
    ("/api/v1/connections/db", {"uri": "not a uri"}),
    ("/api/v1/connections/db", {"uri": "http://h:99999999/x"}),
    ("/api/v1/connections/db", {"host": "h"}),
    ("/api/v1/connections/db", {"conn_type": "http", "port": -1}),
    ("/api/v1/connections/bad%20id", {"uri": "http://h"}),
    ("/api/v1/variables/k", {"value": 3}),
    ("/api/v1/variables/k", {"value": "v", "unknown": 1}),
]


def test_bad_input_is_a_4xx_with_a_reason(clients: tuple[dict[str, TestClient], Store]) -> None:
    by, _ = clients
    for path, body in BAD_INPUT:
        response = by["admin"].put(path, json=body)
        assert 400 <= response.status_code < 500, (path, body, response.text)
        assert response.json()["detail"], (path, body)
