"""``/api/v2`` answers in Airflow's shapes where Conveyor's own used to show through: the
configuration in Airflow's sections and keys, ``/version``, structured log lines (and
NDJSON), validation errors as lists, 405 for a method no route has, the default pool's
slots, a run's ``run_after``, a TaskFlow task's operator and a DAG's ``last_parsed_time``.
Both stores.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from api_helpers import PASSWORDS, World, close, make_world, module_world
from fastapi.testclient import TestClient

from conveyor import __version__
from conveyor.loading.importer import import_dag_file
from conveyor.loading.serialize import serialize_task
from conveyor.store import pools
from conveyor.store.engine import Store
from conveyor.store.reads import dag_files
from conveyor.web.airflow_api.log_lines import structured
from conveyor.web.airflow_api.operator_names import DECORATED_CLASSES
from conveyor.web.app import create_app


def _build(tmp: Path, url: str) -> World:
    built = make_world(tmp, url)
    # The configuration is exposed, and the store's URL shown has a password to hide.
    settings = built.settings.model_copy(
        update={"api_expose_config": True, "database_url": "postgresql://u:pw@db/x"}
    )
    built.app.state.store.dispose()
    return World(built.tmp, settings, built.store, create_app(settings, Store(url)), built.run_ids)


world = module_world("world", _build)


def _as(world: World, role: str) -> TestClient:
    token = world.client().post("/auth/token", json={"username": role, "password": PASSWORDS[role]})
    assert token.status_code == 201, token.text
    return world.token_client(token.json()["access_token"])


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


# -- config and version --------------------------------------------------------------------


def test_config_answers_in_airflows_sections_and_keys(world: World) -> None:
    admin = _as(world, "admin")
    config = _ok(admin.get("/api/v2/config"))
    sections = {s["name"]: {o["key"]: o["value"] for o in s["options"]} for s in config["sections"]}
    assert sections["core"]["dags_folder"] == str(world.settings.dags_path)
    assert sections["core"]["parallelism"] == str(world.settings.parallelism)
    assert sections["core"]["executor"] == "LocalExecutor"
    assert sections["core"]["default_timezone"] == "utc"
    assert sections["api"]["base_url"] == world.settings.public_web_url
    # Secrets are hidden as Airflow hides them, whole.
    assert sections["database"]["sql_alchemy_conn"] == "< hidden >"
    assert sections["core"]["sql_alchemy_conn"] == "< hidden >"
    # Conveyor's own settings follow, under their names.
    assert sections["conveyor"]["parallelism"] == str(world.settings.parallelism)
    assert "pw" not in json.dumps(config)

    core = _ok(admin.get("/api/v2/config", params={"section": "core"}))
    assert [s["name"] for s in core["sections"]] == ["core"]
    missing = admin.get("/api/v2/config", params={"section": "nope"})
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]

    one = _ok(admin.get("/api/v2/config/section/core/option/dags_folder"))
    assert one == {
        "sections": [
            {
                "name": "core",
                "options": [{"key": "dags_folder", "value": str(world.settings.dags_path)}],
            }
        ]
    }
    secret = _ok(admin.get("/api/v2/config/section/database/option/sql_alchemy_conn"))
    assert secret["sections"][0]["options"][0]["value"] == "< hidden >"
    assert admin.get("/api/v2/config/section/core/option/nope").status_code == 404
    assert admin.get("/api/v2/config/section/nope/option/dags_folder").status_code == 404

    text = admin.get(
        "/api/v2/config/section/core/option/parallelism", headers={"Accept": "text/plain"}
    )
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert text.text.splitlines()[:2] == ["[core]", f"parallelism = {world.settings.parallelism}"]
    refused = admin.get("/api/v2/config", headers={"Accept": "application/xml"})
    assert refused.status_code == 406
    assert _as(world, "op").get("/api/v2/config").status_code == 403


def test_config_stays_closed_unless_exposed(tmp_path: Path, store_url: str) -> None:
    closed = make_world(tmp_path, store_url, execute=())
    try:
        refused = _as(closed, "admin").get("/api/v2/config/section/core/option/dags_folder")
        assert refused.status_code == 403 and "api_expose_config" in refused.json()["detail"]
    finally:
        close(closed)


def test_version_names_airflows_release_and_conveyors_beside_it(world: World) -> None:
    answer = world.client().get("/api/v2/version")
    assert answer.status_code == 200
    assert answer.json() == {
        "version": "3.3.2",
        "git_version": None,
        "conveyor_version": __version__,
    }
    assert answer.headers["X-Conveyor-Version"] == __version__


# -- validation errors ---------------------------------------------------------------------

RANGE = {
    "dag_id": "pipeline",
    "from_date": "2024-01-01T00:00:00Z",
    "to_date": "2024-01-02T00:00:00Z",
}


def _refused(response: Any, *loc: str) -> str:
    """A 422 in FastAPI's shape (Airflow's): a list of errors, the first at ``loc``."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    assert detail[0]["loc"] == list(loc) and detail[0]["type"], detail
    assert isinstance(detail[0]["msg"], str) and detail[0]["msg"]
    return str(detail[0]["msg"])


def test_refused_values_are_listed_with_where_they_are(world: World) -> None:
    admin = _as(world, "admin")
    runs = "/api/v2/dags/pipeline/dagRuns"
    assert "bogus" in _refused(admin.get(runs, params={"state": "bogus"}), "query", "state")
    tis = f"{runs}/~/taskInstances"
    assert "bogus" in _refused(admin.get(tis, params={"state": "bogus"}), "query", "state")
    backwards = admin.post("/api/v2/backfills", json={**RANGE, "run_backwards": True})
    assert "oldest first" in _refused(backwards, "body", "run_backwards")
    reversed_range = {**RANGE, "from_date": RANGE["to_date"], "to_date": RANGE["from_date"]}
    _refused(admin.post("/api/v2/backfills", json=reversed_range), "body", "to_date")
    bad_conf = admin.post("/api/v2/backfills", json={**RANGE, "dag_run_conf": {"n": "three"}})
    _refused(bad_conf, "body", "dag_run_conf")
    long_key = {"asset_id": 1, "partition_key": "p" * 251}
    _refused(admin.post("/api/v2/assets/events", json=long_key), "body", "partition_key")
    _refused(admin.post("/api/v2/variables", json={"key": "a b", "value": "x"}), "body", "key")
    bad_id = {"connection_id": "a b", "conn_type": "http"}
    _refused(admin.post("/api/v2/connections", json=bad_id), "body", "connection_id")
    _refused(
        admin.patch(
            "/api/v2/pools/default_pool", json={"slots": None}, params={"update_mask": "slots"}
        ),
        "body",
        "slots",
    )
    # In a bulk body, the same refusal is that action's error, in words.
    bulk = admin.patch(
        "/api/v2/variables",
        json={"actions": [{"action": "create", "entities": [{"key": "a b", "value": "x"}]}]},
    )
    assert bulk.status_code == 200, bulk.text
    error = bulk.json()["create"]["errors"][0]
    assert error["status_code"] == 422 and error["error"].startswith("key: ")


# -- methods a path does not have -----------------------------------------------------------


def test_a_method_no_route_has_is_405_with_the_methods_served(world: World) -> None:
    admin = _as(world, "admin")
    # Neither Airflow nor Conveyor has PUT on a DAG: 405, naming what is served there.
    put = admin.put("/api/v2/dags/pipeline", json={})
    assert put.status_code == 405, put.text
    allowed = {m.strip() for m in put.headers["Allow"].split(",")}
    assert {"GET", "PATCH"} <= allowed and "PUT" not in allowed
    assert admin.post("/api/v2/version").status_code == 405
    assert admin.post("/api/v2/version").headers["Allow"] == "GET"
    # GET on a path served only by POST (Airflow's too): 405 naming POST.
    get = admin.get("/api/v2/assets/1/materialize")
    assert get.status_code == 405 and get.headers["Allow"] == "POST"
    # A path nobody has stays a 404.
    assert admin.put("/api/v2/no/such/path").status_code == 404


# -- logs -----------------------------------------------------------------------------------


def _log(world: World, dag_id: str, task_id: str, **headers: str) -> Any:
    run_id = world.run_ids[dag_id]
    return _as(world, "viewer").get(
        f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/1",
        headers=headers,
    )


def test_log_lines_are_airflows_structured_messages(world: World) -> None:
    content = _ok(_log(world, "pipeline", "extract"))["content"]
    assert content[0]["event"] == "::group::Log message source details"
    printed = next(m for m in content if m["event"] == "extracting")
    assert printed["logger"] == "task.stdout" and printed["level"] == "info"
    notes = [m for m in content if m.get("logger") == "conveyor"]
    assert notes and notes[0]["event"].startswith("pipeline.extract run ")

    failed = _ok(_log(world, "failing", "explode"))["content"]
    failure = next(m for m in failed if m.get("level") == "error")
    assert failure["event"] == "Task failed with exception"
    detail = failure["error_detail"][0]
    assert detail["exc_type"] == "ValueError"
    assert detail["exc_value"] == "column 'amount' is missing"
    assert detail["frames"] and detail["frames"][-1]["name"] == "explode"
    assert detail["frames"][-1]["filename"].endswith("failing.py")


def test_a_logging_record_keeps_its_time_level_and_place() -> None:
    text = "[2026-03-04 05:06:07,890] {etl.py:12} WARNING - rows late\nplain\n[conveyor] done"
    assert structured(text) == [
        {
            "timestamp": "2026-03-04T05:06:07.890000Z",
            "level": "warning",
            "logger": "task",
            "event": "rows late",
            "filename": "etl.py",
            "lineno": 12,
        },
        {"level": "info", "logger": "task.stdout", "event": "plain"},
        {"level": "info", "logger": "conveyor", "event": "done"},
    ]


def test_ndjson_answers_one_message_a_line(world: World) -> None:
    answer = _log(world, "pipeline", "extract", Accept="application/x-ndjson")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    messages = [json.loads(line) for line in answer.text.splitlines()]
    assert messages == _ok(_log(world, "pipeline", "extract"))["content"]
    # The try has ended: nothing more to read, so no token.
    assert "Airflow-Continuation-Token" not in answer.headers


# -- default pool, run_after, operators, last_parsed_time -----------------------------------


def test_the_default_pool_reports_the_slots_parallelism_gives_it(world: World) -> None:
    admin = _as(world, "admin")
    parallelism = world.settings.parallelism
    default = _ok(admin.get("/api/v2/pools/default_pool"))
    assert (default["slots"], default["open_slots"]) == (parallelism, parallelism)
    listed = _ok(admin.get("/api/v2/pools", params={"pool_name_pattern": "default"}))
    assert [p["slots"] for p in listed["pools"]] == [parallelism]
    # Changing its description keeps it sized by parallelism (no limit written).
    described = admin.patch(
        "/api/v2/pools/default_pool",
        json={"description": "tasks that name no pool"},
        params={"update_mask": "description"},
    )
    assert _ok(described)["slots"] == parallelism
    with world.store.read() as conn:
        assert pools.get_pool(conn, "default_pool").slots is None


def test_a_triggered_runs_run_after_is_when_it_was_triggered(world: World) -> None:
    op = _as(world, "op")
    before = datetime.now(UTC)
    made = _ok(
        op.post("/api/v2/dags/pipeline/dagRuns", json={"logical_date": "2024-01-01T00:00:00Z"})
    )
    assert made["logical_date"] == "2024-01-01T00:00:00Z"
    run_after = datetime.fromisoformat(made["run_after"])
    assert before - timedelta(seconds=1) <= run_after <= datetime.now(UTC)
    # The filters read the same time.
    since = {"run_after_gte": before.isoformat()}
    listed = _ok(op.get("/api/v2/dags/pipeline/dagRuns", params=since))
    assert [r["dag_run_id"] for r in listed["dag_runs"]] == [made["dag_run_id"]]


def test_a_dag_says_when_its_file_was_last_parsed(world: World) -> None:
    viewer = _as(world, "viewer")
    with world.store.read() as conn:
        stats = {s.fileloc: s.parsed_at for s in dag_files.file_stats(conn)}
    one = _ok(viewer.get("/api/v2/dags/pipeline"))
    parsed = datetime.fromisoformat(one["last_parsed_time"])
    assert parsed == stats[one["fileloc"]].replace(tzinfo=UTC)
    details = _ok(viewer.get("/api/v2/dags/pipeline/details"))
    assert details["last_parsed_time"] == one["last_parsed_time"]
    listed = _ok(viewer.get("/api/v2/dags", params={"dag_id_pattern": "pipeline"}))
    assert [d["last_parsed_time"] for d in listed["dags"]] == [one["last_parsed_time"]]


def test_a_taskflow_tasks_operator_is_the_one_airflow_names(world: World) -> None:
    viewer = _as(world, "viewer")
    run_id = world.run_ids["pipeline"]
    base = f"/api/v2/dags/pipeline/dagRuns/{run_id}/taskInstances"
    extract = _ok(viewer.get(f"{base}/extract"))
    assert (extract["operator"], extract["operator_name"]) == ("_PythonDecoratedOperator", "@task")
    talk = _ok(viewer.get(f"{base}/talk"))
    assert (talk["operator"], talk["operator_name"]) == ("BashOperator", "BashOperator")
    # The operator filter reads the same names.
    decorated = _ok(viewer.get(base, params={"operator": "_PythonDecoratedOperator"}))
    assert sorted(t["task_id"] for t in decorated["task_instances"]) == ["extract", "load"]


def test_each_decorator_records_its_airflow_name(tmp_path: Path) -> None:
    source = tmp_path / "decorated.py"
    source.write_text(
        "from airflow.sdk import DAG, task\n"
        "with DAG('decorated'):\n"
        "    @task.bash\n"
        "    def shell():\n"
        "        return 'echo hi'\n"
        "    @task.branch\n"
        "    def choose():\n"
        "        return 'shell'\n"
        "    @task\n"
        "    def each(x):\n"
        "        return x\n"
        "    choose() >> shell()\n"
        "    each.expand(x=[1, 2])\n"
    )
    (dag,) = import_dag_file(str(source))
    made = {t.task_id: serialize_task(t).get("decorated_as") for t in dag.task_dict.values()}
    assert made == {"shell": "@task.bash", "choose": "@task.branch", "each": "@task"}
    assert DECORATED_CLASSES["@task.bash"] == "_BashDecoratedOperator"
