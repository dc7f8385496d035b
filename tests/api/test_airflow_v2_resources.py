"""``/api/v2``'s resources beside DAGs and runs, as Airflow's callers use them with a JWT
from ``POST /auth/token``: variables, connections (masked, tested where allowed), pools,
the bulk bodies, import errors, the event log (Conveyor's audit log), DAG sources and
versions, assets and their events, backfills, health, version, config, providers. Roles,
masking and bad input (422 naming the field, never 500) are checked on each. Both stores.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import PASSWORDS, World, close, make_world
from fastapi.testclient import TestClient
from sqlalchemy import select

from conveyor import __version__
from conveyor.airflow_compat.configuration import AIRFLOW_VERSION
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run
from conveyor.web.app import create_app

NIGHTLY = textwrap.dedent(
    """
    from datetime import datetime

    from conveyor import DAG, BashOperator
    from conveyor.datasets import Dataset

    with DAG("nightly", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False):
        BashOperator(
            task_id="load", bash_command="echo load", outlets=[Dataset("s3://lake/orders")]
        )
    """
)
REPORT = textwrap.dedent(
    """
    from datetime import datetime

    from conveyor import DAG, BashOperator
    from conveyor.datasets import Dataset

    with DAG("report", schedule=[Dataset("s3://lake/orders")], start_date=datetime(2024, 1, 1)):
        BashOperator(task_id="report", bash_command="echo report")
    """
)

POOLED = textwrap.dedent(
    """
    from conveyor import DAG, BashOperator

    with DAG("pooled"):
        BashOperator(task_id="render", bash_command="echo render", pool="cards")
    """
)


@pytest.fixture(name="world")
def world_fixture(tmp_path: Path, store_url: str) -> Iterator[World]:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "nightly.py").write_text(NIGHTLY)
    (tmp_path / "dags" / "report.py").write_text(REPORT)
    (tmp_path / "dags" / "pooled.py").write_text(POOLED)
    built = make_world(tmp_path, store_url, execute=())
    yield built
    close(built)


def _as(world: World, role: str) -> TestClient:
    token = world.client().post("/auth/token", json={"username": role, "password": PASSWORDS[role]})
    assert token.status_code == 201, token.text
    return world.token_client(token.json()["access_token"])


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _field_named(response: Any, field: str) -> None:
    """A 422 in Airflow's shape whose errors name ``field``."""
    assert response.status_code == 422, response.text
    assert field in json.dumps(response.json()["detail"]), response.text


# -- variables ----------------------------------------------------------------------------


def test_variables_are_created_read_changed_and_deleted_as_airflow_does(world: World) -> None:
    admin, op, viewer = _as(world, "admin"), _as(world, "op"), _as(world, "viewer")
    made = _ok(admin.post("/api/v2/variables", json={"key": "region", "value": "eu"}), 201)
    assert made == {
        "key": "region",
        "value": "eu",
        "description": None,
        "is_encrypted": True,
        "team_name": None,
    }
    # A JSON value is kept as its text, as Airflow keeps it.
    _ok(admin.post("/api/v2/variables", json={"key": "limits", "value": {"n": 3}}), 201)
    assert json.loads(_ok(op.get("/api/v2/variables/limits"))["value"]) == {"n": 3}
    assert admin.post("/api/v2/variables", json={"key": "region", "value": "x"}).status_code == 409
    changed = admin.patch(
        "/api/v2/variables/region",
        params={"update_mask": "value"},
        json={"key": "region", "value": "us", "description": "ignored: not in the mask"},
    )
    assert _ok(changed)["value"] == "us" and changed.json()["description"] is None
    listed = _ok(op.get("/api/v2/variables", params={"variable_key_pattern": "reg"}))
    assert [v["key"] for v in listed["variables"]] == ["region"]
    assert listed["total_entries"] == 1

    def keys(**params: str) -> list[str]:
        found = _ok(op.get("/api/v2/variables", params=params))["variables"]
        return sorted(v["key"] for v in found)

    # Airflow's prefix filter: `~` is every key, `|` separates terms, and a term's trailing
    # punctuation is cut (`lim_` finds `limits`); case counts.
    assert keys(variable_key_prefix_pattern="~") == ["limits", "region"]
    assert keys(variable_key_prefix_pattern="lim_") == ["limits"]
    assert keys(variable_key_prefix_pattern="zz|reg") == ["region"]
    assert keys(variable_key_prefix_pattern="REG") == []
    ordered = _ok(op.get("/api/v2/variables", params={"order_by": "-key", "limit": 1}))
    assert ordered["variables"][0]["key"] == "region" and ordered["total_entries"] == 2
    # Viewers do not read variables, ops do not change them: as on /api/v1.
    assert viewer.get("/api/v2/variables").status_code == 403
    assert op.post("/api/v2/variables", json={"key": "k", "value": "v"}).status_code == 403
    _ok(admin.delete("/api/v2/variables/region"), 204)
    assert op.get("/api/v2/variables/region").status_code == 404


def test_secret_variables_are_masked_and_bad_bodies_name_the_field(world: World) -> None:
    admin = _as(world, "admin")
    _ok(admin.post("/api/v2/variables", json={"key": "db_password", "value": "hunter2"}), 201)
    assert _ok(admin.get("/api/v2/variables/db_password"))["value"] == "***"
    _field_named(admin.post("/api/v2/variables", json={"key": "x"}), "value")
    _field_named(admin.post("/api/v2/variables", json={"key": "x", "value": 1, "id": 3}), "id")
    bad_order = admin.get("/api/v2/variables", params={"order_by": "nope"})
    assert bad_order.status_code == 400 and "nope" in bad_order.json()["detail"]
    wrong_key = admin.patch("/api/v2/variables/db_password", json={"key": "other", "value": "v"})
    assert wrong_key.status_code == 400


def test_bulk_variables_create_update_and_delete_each_with_its_own_answer(world: World) -> None:
    admin = _as(world, "admin")
    _ok(admin.post("/api/v2/variables", json={"key": "kept", "value": "1"}), 201)
    body = {
        "actions": [
            {
                "action": "create",
                "entities": [{"key": "kept", "value": "2"}, {"key": "new", "value": "3"}],
                "action_on_existence": "skip",
            },
            {"action": "update", "entities": [{"key": "absent", "value": "4"}]},
            {"action": "delete", "entities": ["kept"]},
        ]
    }
    answer = _ok(admin.patch("/api/v2/variables", json=body))
    assert answer["create"] == {"success": ["new"], "errors": []}
    assert answer["update"]["success"] == []
    assert answer["update"]["errors"][0]["status_code"] == 404
    assert answer["delete"] == {"success": ["kept"], "errors": []}
    keys = [v["key"] for v in _ok(admin.get("/api/v2/variables"))["variables"]]
    assert keys == ["new"]
    audited = _ok(admin.get("/api/v2/eventLogs", params={"event": "variable.bulk"}))
    assert audited["total_entries"] == 1 and "***" in audited["event_logs"][0]["extra"]
    _field_named(admin.patch("/api/v2/variables", json={"actions": [{"action": "x"}]}), "action")


# -- connections --------------------------------------------------------------------------

CONN = {
    "connection_id": "warehouse",
    "conn_type": "postgres",
    "host": "db.example",
    "login": "etl",
    "password": "s3cret",
    "port": 5432,
    "schema": "sales",
    "extra": json.dumps({"sslmode": "require", "api_token": "tok"}),
}


def test_connections_are_masked_and_a_masked_value_sent_back_keeps_the_secret(
    world: World,
) -> None:
    admin, op = _as(world, "admin"), _as(world, "op")
    made = _ok(admin.post("/api/v2/connections", json=CONN), 201)
    assert made["password"] == "***" and made["login"] == "etl"
    assert json.loads(made["extra"]) == {"sslmode": "require", "api_token": "***"}
    read = _ok(op.get("/api/v2/connections/warehouse"))
    assert read["schema"] == "sales" and read["password"] == "***"
    # A client that writes back what it read (masks included) changes the port only.
    _ok(admin.patch("/api/v2/connections/warehouse", json={**read, "port": 6432}))
    with world.store.read():
        from conveyor.connections import repository

        stored = repository.get_connection(world.store, world.settings, "warehouse")
    assert (stored.password, stored.port, stored.extra_dejson["api_token"]) == (
        "s3cret",
        6432,
        "tok",
    )
    assert admin.post("/api/v2/connections", json=CONN).status_code == 409
    listed = _ok(op.get("/api/v2/connections", params={"connection_id_prefix_pattern": "ware"}))
    assert [c["connection_id"] for c in listed["connections"]] == ["warehouse"]
    assert _as(world, "viewer").get("/api/v2/connections").status_code == 403
    _field_named(
        admin.post("/api/v2/connections", json={**CONN, "connection_id": "x", "extra": "[1]"}),
        "extra",
    )
    _field_named(admin.post("/api/v2/connections", json={"connection_id": "y"}), "conn_type")
    _ok(admin.delete("/api/v2/connections/warehouse"), 204)
    assert admin.get("/api/v2/connections/warehouse").status_code == 404


def test_testing_a_connection_is_refused_unless_the_setting_allows_it(world: World) -> None:
    refused = _as(world, "admin").post("/api/v2/connections/test", json=CONN)
    assert refused.status_code == 403 and "api_test_connection" in refused.json()["detail"]
    settings = world.settings.model_copy(update={"api_test_connection": True})
    allowed = World(world.tmp, settings, world.store, create_app(settings, Store(world.store.url)))
    admin = _as(allowed, "admin")
    database = world.tmp / "probe.db"
    good = {"connection_id": "probe", "conn_type": "sqlite", "host": str(database)}
    assert _ok(admin.post("/api/v2/connections/test", json=good)) == {
        "status": True,
        "message": "Connection successfully tested",
    }
    unreachable = {**CONN, "host": "127.0.0.1", "port": 9}
    failed = _ok(admin.post("/api/v2/connections/test", json=unreachable))
    assert failed["status"] is False and failed["message"]
    strange = _ok(
        admin.post("/api/v2/connections/test", json={"connection_id": "z", "conn_type": "nope"})
    )
    assert strange["status"] is False and "nope" in strange["message"]
    assert _as(allowed, "op").post("/api/v2/connections/test", json=good).status_code == 403
    allowed.app.state.store.dispose()


# -- pools --------------------------------------------------------------------------------


def test_pools_as_airflow_shows_them_unlimited_as_minus_one(world: World) -> None:
    admin, viewer = _as(world, "admin"), _as(world, "viewer")
    default = _ok(viewer.get("/api/v2/pools/default_pool"))
    # default_pool has no limit of its own: parallelism is what sizes it.
    parallelism = world.settings.parallelism
    assert default["slots"] == parallelism and default["open_slots"] == parallelism
    made = _ok(admin.post("/api/v2/pools", json={"name": "gpu", "slots": 2}), 201)
    assert made == {
        "name": "gpu",
        "slots": 2,
        "description": None,
        "include_deferred": False,
        "occupied_slots": 0,
        "running_slots": 0,
        "queued_slots": 0,
        "scheduled_slots": 0,
        "open_slots": 2,
        "deferred_slots": 0,
        "team_name": None,
    }
    changed = _ok(admin.patch("/api/v2/pools/gpu", json={"slots": 5, "description": "cards"}))
    assert (changed["slots"], changed["description"]) == (5, "cards")
    listed = _ok(viewer.get("/api/v2/pools", params={"pool_name_pattern": "g_u"}))
    assert [p["name"] for p in listed["pools"]] == ["gpu"]
    bulk = _ok(
        admin.patch(
            "/api/v2/pools",
            json={"actions": [{"action": "create", "entities": [{"name": "io", "slots": -1}]}]},
        )
    )
    assert bulk["create"]["success"] == ["io"]
    assert _ok(viewer.get("/api/v2/pools/io"))["slots"] == -1
    assert admin.delete("/api/v2/pools/default_pool").status_code == 400
    assert viewer.post("/api/v2/pools", json={"name": "x", "slots": 1}).status_code == 403
    _field_named(admin.post("/api/v2/pools", json={"name": "x", "slots": -5}), "slots")
    _field_named(
        admin.post("/api/v2/pools", json={"name": "x", "slots": 1, "include_deferred": True}),
        "include_deferred",
    )
    _ok(admin.delete("/api/v2/pools/gpu"), 204)
    assert viewer.get("/api/v2/pools/gpu").status_code == 404


# -- import errors, event log, sources, versions ------------------------------------------


def test_import_errors_name_the_broken_file(world: World) -> None:
    viewer = _as(world, "viewer")
    listed = _ok(viewer.get("/api/v2/importErrors"))
    assert [e["filename"] for e in listed["import_errors"]] == ["broken.py"]
    error = listed["import_errors"][0]
    assert error["bundle_name"] == "dags-folder" and "broken.py" in error["stack_trace"]
    one = _ok(viewer.get(f"/api/v2/importErrors/{error['import_error_id']}"))
    assert one == error
    assert viewer.get("/api/v2/importErrors/1").status_code in (200, 404)
    assert _ok(viewer.get("/api/v2/importErrors", params={"filename_pattern": "nope"})) == {
        "import_errors": [],
        "total_entries": 0,
    }


def test_the_event_log_is_the_audit_log(world: World) -> None:
    admin = _as(world, "admin")
    _ok(admin.post("/api/v2/variables", json={"key": "token_x", "value": "sekrit"}), 201)
    _ok(admin.patch("/api/v2/dags/nightly", json={"is_paused": False}))
    events = _ok(admin.get("/api/v2/eventLogs", params={"order_by": "-id"}))["event_logs"]
    kinds = [e["event"] for e in events]
    assert "variable.set" in kinds and "dag.unpause" in kinds, kinds
    variable = next(e for e in events if e["event"] == "variable.set")
    assert variable["owner"] == "admin"
    assert "sekrit" not in variable["extra"], variable["extra"]  # the value is redacted
    by_dag = _ok(admin.get("/api/v2/eventLogs", params={"dag_id": "nightly"}))
    assert {e["event"] for e in by_dag["event_logs"]} == {"dag.unpause"}
    run = _ok(admin.post("/api/v2/dags/nightly/dagRuns", json={"logical_date": None}))
    triggered = _ok(admin.get("/api/v2/eventLogs", params={"run_id": run["dag_run_id"]}))
    assert [(e["event"], e["dag_id"], e["run_id"]) for e in triggered["event_logs"]] == [
        ("run.trigger", "nightly", run["dag_run_id"])
    ]
    one = _ok(admin.get(f"/api/v2/eventLogs/{variable['event_log_id']}"))
    assert one["event"] == "variable.set"

    def named(**params: str) -> set[str | None]:
        found = _ok(admin.get("/api/v2/eventLogs", params=params))["event_logs"]
        return {e["dag_id"] for e in found}

    # Airflow's text filters, read in SQL here: `~` is every value that is set, a prefix
    # term loses its trailing punctuation, `|` separates terms.
    assert named(dag_id_pattern="~") == {"nightly"}
    assert named(dag_id_prefix_pattern="~") == {"nightly"}
    assert named(dag_id_prefix_pattern="night_") == {"nightly"}
    assert named(dag_id_pattern="nope|IGHT") == {"nightly"}
    assert None in named()  # the variable's entry names no DAG
    assert _as(world, "viewer").get("/api/v2/eventLogs").status_code == 403
    assert (
        admin.get("/api/v2/eventLogs", params={"after": "2024-01-01T00:00:00"}).status_code == 422
    )


def test_dag_sources_and_versions(world: World) -> None:
    viewer = _as(world, "viewer")
    versions = _ok(viewer.get("/api/v2/dags/nightly/dagVersions"))
    assert versions["total_entries"] == 1
    version = versions["dag_versions"][0]
    assert version["version_number"] == 1 and version["bundle_name"] == "dags-folder"
    assert _ok(viewer.get("/api/v2/dags/nightly/dagVersions/1")) == version
    assert viewer.get("/api/v2/dags/nightly/dagVersions/2").status_code == 404
    source = _ok(viewer.get("/api/v2/dagSources/nightly"))
    assert source["version_number"] == 1 and 'DAG("nightly"' in source["content"]
    text = viewer.get("/api/v2/dagSources/nightly", headers={"Accept": "text/plain"})
    assert text.status_code == 200 and text.text == source["content"]
    assert viewer.get("/api/v2/dagSources/nope").status_code == 404


def test_a_dag_naming_a_pool_that_does_not_exist_is_warned_about(world: World) -> None:
    viewer, admin = _as(world, "viewer"), _as(world, "admin")
    warnings = _ok(viewer.get("/api/v2/dagWarnings"))["dag_warnings"]
    assert [(w["dag_id"], w["warning_type"]) for w in warnings] == [("pooled", "non-existent pool")]
    assert "cards" in warnings[0]["message"]
    assert (
        _ok(viewer.get("/api/v2/dagWarnings", params={"dag_id": "nightly"}))["total_entries"] == 0
    )
    _ok(admin.post("/api/v2/pools", json={"name": "cards", "slots": 1}), 201)
    assert _ok(viewer.get("/api/v2/dagWarnings"))["dag_warnings"] == []
    _field_named(viewer.get("/api/v2/dagWarnings", params={"warning_type": "x"}), "warning_type")


# -- assets -------------------------------------------------------------------------------


def test_assets_events_and_queued_events(world: World) -> None:
    viewer, op = _as(world, "viewer"), _as(world, "op")
    assets = _ok(viewer.get("/api/v2/assets"))["assets"]
    orders = next(a for a in assets if a["uri"] == "s3://lake/orders")
    assert [d["dag_id"] for d in orders["scheduled_dags"]] == ["report"]
    assert [(t["dag_id"], t["task_id"]) for t in orders["producing_tasks"]] == [("nightly", "load")]
    made = _ok(
        op.post("/api/v2/assets/events", json={"asset_id": orders["id"], "extra": {"rows": 9}})
    )
    assert made["asset_id"] == orders["id"] and made["extra"] == {"rows": 9}
    assert made["source_dag_id"] is None
    events = _ok(viewer.get("/api/v2/assets/events", params={"asset_id": orders["id"]}))
    assert [e["id"] for e in events["asset_events"]] == [made["id"]]
    queued = _ok(viewer.get(f"/api/v2/assets/{orders['id']}/queuedEvents"))
    assert [q["dag_id"] for q in queued["queued_events"]] == ["report"]
    one = _ok(viewer.get(f"/api/v2/dags/report/assets/{orders['id']}/queuedEvents"))
    assert one["asset_id"] == orders["id"]
    assert _ok(viewer.get(f"/api/v2/assets/{orders['id']}"))["last_asset_event"]["id"] == made["id"]
    assert viewer.delete("/api/v2/dags/report/assets/queuedEvents").status_code == 403
    _ok(op.delete("/api/v2/dags/report/assets/queuedEvents"), 204)
    assert _ok(viewer.get("/api/v2/dags/report/assets/queuedEvents"))["total_entries"] == 0
    assert op.post("/api/v2/assets/events", json={"asset_id": 999999}).status_code == 404
    _field_named(op.post("/api/v2/assets/events", json={"extra": {}}), "asset_id")
    assert viewer.get("/api/v2/assets/1/materialize").status_code in (404, 405, 501)


# -- backfills ----------------------------------------------------------------------------

RANGE = {
    "dag_id": "nightly",
    "from_date": "2025-01-01T00:00:00Z",
    "to_date": "2025-01-03T00:00:00Z",
}


def _backfill_runs(world: World) -> list[str]:
    with world.store.read() as conn:
        rows = conn.execute(
            select(dag_run.c.run_id).where(
                dag_run.c.dag_id == "nightly", dag_run.c.run_type == "backfill"
            )
        )
        return sorted(r.run_id for r in rows)


def test_a_backfill_is_planned_made_listed_and_cancelled(world: World) -> None:
    op, viewer = _as(world, "op"), _as(world, "viewer")
    dry = _ok(op.post("/api/v2/backfills/dry_run", json=RANGE))
    assert dry["total_entries"] == 3 and _backfill_runs(world) == []
    made = _ok(op.post("/api/v2/backfills", json={**RANGE, "dag_run_conf": {"size": 2}}))
    assert made["dag_id"] == "nightly" and made["completed_at"] is None
    assert made["from_date"].startswith("2025-01-01") and made["dag_run_conf"] == {"size": 2}
    assert len(_backfill_runs(world)) == 3
    assert _ok(viewer.get(f"/api/v2/backfills/{made['id']}")) == made
    listed = _ok(viewer.get("/api/v2/backfills", params={"dag_id": "nightly"}))
    assert [b["id"] for b in listed["backfills"]] == [made["id"]]
    again = op.post("/api/v2/backfills", json=RANGE)
    assert again.status_code == 409 and "already a running backfill" in again.json()["detail"]
    assert made["max_active_runs"] == 10 and made["is_paused"] is False  # Airflow's default
    assert viewer.put(f"/api/v2/backfills/{made['id']}/pause").status_code == 403
    assert _ok(op.put(f"/api/v2/backfills/{made['id']}/pause"))["is_paused"] is True
    assert _ok(op.put(f"/api/v2/backfills/{made['id']}/unpause"))["is_paused"] is False
    cancelled = _ok(op.put(f"/api/v2/backfills/{made['id']}/cancel"))
    assert cancelled["completed_at"] is not None and cancelled["is_paused"] is True
    for verb in ("pause", "unpause", "cancel"):
        late = op.put(f"/api/v2/backfills/{made['id']}/{verb}")
        assert late.status_code == 409 and "already completed" in late.json()["detail"]
    with world.store.read() as conn:
        states = {
            r.state
            for r in conn.execute(select(dag_run.c.state).where(dag_run.c.run_type == "backfill"))
        }
    assert states == {"failed"}
    assert viewer.post("/api/v2/backfills", json=RANGE).status_code == 403
    _field_named(op.post("/api/v2/backfills", json={**RANGE, "from_date": "soon"}), "from_date")
    backwards = op.post("/api/v2/backfills", json={**RANGE, "run_backwards": True})
    _field_named(backwards, "run_backwards")
    missing = op.post("/api/v2/backfills", json={**RANGE, "dag_id": "nope"})
    assert missing.status_code == 404
    assert viewer.get("/api/v2/backfills/999999").status_code == 404


# -- health, version, config, providers ---------------------------------------------------


def test_health_version_config_and_providers(world: World) -> None:
    anonymous = world.client()
    health = _ok(anonymous.get("/api/v2/monitor/health"))
    assert health["metadatabase"] == {"status": "healthy"}
    assert health["scheduler"]["status"] == "unhealthy"  # no scheduler runs in this test
    version = _ok(anonymous.get("/api/v2/version"))
    assert version == {
        "version": AIRFLOW_VERSION,
        "git_version": None,
        "conveyor_version": __version__,
    }
    assert version["version"] == "3.3.2"  # the release whose surface Conveyor implements
    admin = _as(world, "admin")
    refused = admin.get("/api/v2/config")
    assert refused.status_code == 403 and "api_expose_config" in refused.json()["detail"]
    settings = world.settings.model_copy(
        update={"api_expose_config": True, "database_url": "postgresql://u:pw@db/x"}
    )
    exposing = World(world.tmp, settings, world.store, create_app(settings, Store(world.store.url)))
    config = _ok(_as(exposing, "admin").get("/api/v2/config"))
    sections = {s["name"]: {o["key"]: o["value"] for o in s["options"]} for s in config["sections"]}
    options = sections["conveyor"]
    assert "pw" not in options["database_url"] and options["parallelism"] == "8"
    assert sections["core"]["parallelism"] == "8"
    one = _ok(_as(exposing, "admin").get("/api/v2/config/section/conveyor/option/parallelism"))
    assert one["sections"][0]["options"] == [{"key": "parallelism", "value": "8"}]
    assert _as(exposing, "op").get("/api/v2/config").status_code == 403
    exposing.app.state.store.dispose()
    providers = _ok(_as(world, "viewer").get("/api/v2/providers"))
    names = [p["package_name"] for p in providers["providers"]]
    assert "apache-airflow-providers-postgres" in names
    unknown = admin.post("/api/v2/assets/987654/materialize")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "No Dag materializes asset with ID: 987654"
