"""``/api/v2``'s DAG tasks, DAG stats and tags, jobs, plugins, the sign-in redirects and
parse requests, as Airflow's callers use them with a JWT, on both stores.

The world holds ``pipeline`` (run once: success) and ``failing`` (run once: failed); Nora
holds a named role that grants no DAG, so every DAG is unknown to her.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from api_helpers import PASSWORDS, World, make_world, module_world
from fastapi.testclient import TestClient
from sqlalchemy import select

from conveyor.clock import utcnow
from conveyor.loading.processor import DagFileProcessor
from conveyor.store import parse_requests, scheduling, triggers, workers
from conveyor.store.tables import dag_file
from conveyor.web import accounts, roles
from conveyor.web.airflow_api import file_tokens

NORA = ("nora", "nora-secret-12")


def _build(tmp: Path, url: str) -> World:
    world = make_world(tmp, url)
    accounts.create_user(world.store, NORA[0], "public", NORA[1])
    roles.create_role(world.store, "empty")
    accounts.set_roles(world.store, NORA[0], ["empty"])
    return world


world_fixture = module_world("world", _build)


def _as(world: World, username: str, password: str | None = None) -> TestClient:
    secret = password or PASSWORDS[username]
    token = world.client().post("/auth/token", json={"username": username, "password": secret})
    assert token.status_code == 201, token.text
    return world.token_client(token.json()["access_token"])


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


# -- tasks --------------------------------------------------------------------------------


def test_a_dags_tasks_come_from_its_current_version_in_airflows_shape(world: World) -> None:
    viewer = _as(world, "viewer")
    listed = _ok(viewer.get("/api/v2/dags/pipeline/tasks"))
    assert [t["task_id"] for t in listed["tasks"]] == ["extract", "load", "talk"]
    assert listed["total_entries"] == 3
    extract, load, talk = listed["tasks"]
    assert extract["downstream_task_ids"] == ["load"] and load["downstream_task_ids"] == ["talk"]
    assert extract["owner"] == "data-team"
    # A TaskFlow task is named as its task instances name it, as Airflow names both.
    assert extract["operator_name"] == "@task" and talk["operator_name"] == "BashOperator"
    assert extract["class_ref"]["class_name"] == "_PythonDecoratedOperator"
    assert talk["class_ref"]["class_name"] == "BashOperator"
    run_id = world.run_ids["pipeline"]
    instance = _ok(viewer.get(f"/api/v2/dags/pipeline/dagRuns/{run_id}/taskInstances/extract"))
    assert (instance["operator"], instance["operator_name"]) == (
        extract["class_ref"]["class_name"],
        extract["operator_name"],
    )
    assert "bash_command" in talk["template_fields"]
    assert talk["trigger_rule"] == "all_success" and talk["is_mapped"] is False
    assert talk["retry_delay"] == {
        "__type": "TimeDelta",
        "days": 0,
        "seconds": 300,
        "microseconds": 0,
    }
    assert talk["params"]["n"]["value"] == 3
    assert talk["pool"] == "default_pool" and talk["pool_slots"] == 1
    backwards = _ok(viewer.get("/api/v2/dags/pipeline/tasks", params={"order_by": "-task_id"}))
    assert [t["task_id"] for t in backwards["tasks"]] == ["talk", "load", "extract"]
    one = _ok(viewer.get("/api/v2/dags/pipeline/tasks/load"))
    assert one == load


def test_tasks_refuse_what_they_do_not_know_with_a_reason(world: World) -> None:
    viewer = _as(world, "viewer")
    unknown = viewer.get("/api/v2/dags/pipeline/tasks/nope")
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    assert viewer.get("/api/v2/dags/no_such_dag/tasks").status_code == 404
    bad_order = viewer.get("/api/v2/dags/pipeline/tasks", params={"order_by": "params"})
    assert bad_order.status_code == 400 and "order tasks by" in bad_order.json()["detail"]


# -- DAG stats and tags ---------------------------------------------------------------------


def _counts(entry: dict[str, Any]) -> dict[str, int]:
    return {s["state"]: s["count"] for s in entry["stats"]}


def test_dag_stats_count_each_dags_runs_by_state(world: World) -> None:
    viewer = _as(world, "viewer")
    stats = _ok(viewer.get("/api/v2/dagStats"))
    by_dag = {d["dag_id"]: d for d in stats["dags"]}
    assert set(by_dag) == {"pipeline", "failing"} and stats["total_entries"] == 2
    assert _counts(by_dag["pipeline"]) == {"queued": 0, "running": 0, "success": 1, "failed": 0}
    assert _counts(by_dag["failing"])["failed"] == 1
    assert by_dag["pipeline"]["dag_display_name"] == "pipeline"
    one = _ok(viewer.get("/api/v2/dagStats", params={"dag_ids": ["failing"]}))
    assert [d["dag_id"] for d in one["dags"]] == ["failing"]


def test_dag_tags_are_listed_once_filtered_and_paged(world: World) -> None:
    viewer = _as(world, "viewer")
    assert _ok(viewer.get("/api/v2/dagTags")) == {"tags": ["api", "numbers"], "total_entries": 2}
    found = _ok(viewer.get("/api/v2/dagTags", params={"tag_name_pattern": "UMB"}))
    assert found["tags"] == ["numbers"]
    prefixed = _ok(viewer.get("/api/v2/dagTags", params={"tag_name_prefix_pattern": "a"}))
    assert prefixed["tags"] == ["api"]
    # Airflow's text filters, as on every other list: `|` between terms, `~` for all.
    either = _ok(viewer.get("/api/v2/dagTags", params={"tag_name_pattern": "zzz|PI"}))
    assert either["tags"] == ["api"]
    every = _ok(viewer.get("/api/v2/dagTags", params={"tag_name_prefix_pattern": "~"}))
    assert every["tags"] == ["api", "numbers"]
    both = {"tag_name_prefix_pattern": "nu|ap", "tag_name_pattern": "ers"}
    assert _ok(viewer.get("/api/v2/dagTags", params=both))["tags"] == ["numbers"]
    paged = _ok(viewer.get("/api/v2/dagTags", params={"order_by": "-name", "limit": 1}))
    assert paged == {"tags": ["numbers"], "total_entries": 2}
    assert viewer.get("/api/v2/dagTags", params={"order_by": "dag_id"}).status_code == 400


def test_a_user_who_cannot_read_the_dag_sees_none_of_it(world: World) -> None:
    nora = _as(world, *NORA)
    assert nora.get("/api/v2/dags/pipeline/tasks").status_code == 404
    assert nora.get("/api/v2/dags/pipeline/tasks/extract").status_code == 404
    assert _ok(nora.get("/api/v2/dagStats")) == {"dags": [], "total_entries": 0}
    asked = _ok(nora.get("/api/v2/dagStats", params={"dag_ids": ["pipeline"]}))
    assert asked["dags"] == []
    assert _ok(nora.get("/api/v2/dagTags"))["tags"] == []
    token = _ok(_as(world, "admin").get("/api/v2/dags/pipeline"))["file_token"]
    refused = nora.put(f"/api/v2/parseDagFile/{token}")
    assert refused.status_code == 404 and "file_token" in refused.json()["detail"]
    with world.store.read() as conn:
        assert parse_requests.pending_requests(conn) == []


# -- jobs ---------------------------------------------------------------------------------


def _record_processes(world: World) -> None:
    """A live scheduler, a stopped triggerer, a worker whose heartbeat is long gone."""
    now = utcnow()
    with world.store.write() as conn:
        scheduling.record_heartbeat(conn, "sched-live", "host-a", 11, now)
        triggers.record_heartbeat(conn, "trig-done", "host-b", 12, 100, 0, now)
        triggers.record_stop(conn, "trig-done", now)
        workers.record_heartbeat(
            conn,
            "celery@host-c",
            queues=["default"],
            concurrency=4,
            pid=13,
            started_at=now - timedelta(hours=2),
            running=[],
        )


def test_jobs_are_the_processes_that_record_heartbeats(world: World) -> None:
    # The suite's heartbeat period (0.5 s) would make "alive" a race with the requests: a
    # minute's period here, so the live ones stay alive however loaded the machine is.
    suite_beats = world.app.state.settings
    world.app.state.settings = suite_beats.model_copy(update={"heartbeat_seconds": 60.0})
    try:
        _check_jobs(world)
    finally:
        world.app.state.settings = suite_beats


def _check_jobs(world: World) -> None:
    _record_processes(world)
    viewer = _as(world, "viewer")
    listed = _ok(viewer.get("/api/v2/jobs", params={"order_by": "job_type"}))
    by_host = {j["hostname"]: j for j in listed["jobs"]}
    assert by_host["host-a"]["job_type"] == "SchedulerJob"
    assert by_host["host-a"]["state"] == "running" and by_host["host-a"]["end_date"] is None
    assert by_host["host-a"]["executor_class"] == "LocalExecutor"
    assert by_host["host-b"]["job_type"] == "TriggererJob"
    assert by_host["host-b"]["state"] == "success" and by_host["host-b"]["end_date"]
    assert by_host["celery@host-c"]["job_type"] == "WorkerJob"
    assert isinstance(by_host["host-a"]["id"], int)
    again = _ok(viewer.get("/api/v2/jobs", params={"hostname": "host-a"}))
    assert [j["id"] for j in again["jobs"]] == [by_host["host-a"]["id"]]  # a stable id
    alive = _ok(viewer.get("/api/v2/jobs", params={"is_alive": True}))
    assert {j["hostname"] for j in alive["jobs"]} == {"host-a", "celery@host-c"}
    schedulers = _ok(
        viewer.get("/api/v2/jobs", params={"job_type": "SchedulerJob", "job_state": "running"})
    )
    assert {j["hostname"] for j in schedulers["jobs"]} == {"host-a"}
    early = (utcnow() - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    started_before = _ok(viewer.get("/api/v2/jobs", params={"start_date_lt": early}))
    assert {j["hostname"] for j in started_before["jobs"]} == {"celery@host-c"}
    assert viewer.get("/api/v2/jobs", params={"order_by": "nope"}).status_code == 400
    naive = viewer.get("/api/v2/jobs", params={"start_date_gte": "2026-01-01T00:00:00"})
    assert naive.status_code == 422
    assert _as(world, *NORA).get("/api/v2/jobs").status_code == 200  # no DAG in a job


# -- plugins ------------------------------------------------------------------------------

PLUGIN = textwrap.dedent(
    """
    from airflow.plugins_manager import AirflowPlugin

    def shout(text):
        return text.upper()

    class LoudPlugin(AirflowPlugin):
        name = "loud"
        macros = [shout]
        timetables = [object]

    class NoisyPlugin(AirflowPlugin):
        name = "noisy"
        executors = ["my.Executor"]
    """
)


@pytest.fixture(name="plugins")
def plugins_fixture(world: World) -> Iterator[Path]:
    folder = world.settings.plugins_path
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "loud.py").write_text(PLUGIN)
    (folder / "broken_plugin.py").write_text("def nope(:\n")
    yield folder
    (folder / "loud.py").unlink()
    (folder / "broken_plugin.py").unlink()


def test_plugins_are_read_from_their_source_never_imported(world: World, plugins: Path) -> None:
    op = _as(world, "op")
    listed = _ok(op.get("/api/v2/plugins"))
    assert [p["name"] for p in listed["plugins"]] == ["loud", "noisy"]
    loud = listed["plugins"][0]
    assert loud["macros"] == ["shout"] and loud["timetables"] == ["object"]
    assert loud["source"] == "$PLUGINS_FOLDER/loud.py" and loud["fastapi_apps"] == []
    assert _ok(op.get("/api/v2/plugins", params={"offset": 1}))["plugins"][0]["name"] == "noisy"
    errors = _ok(op.get("/api/v2/plugins/importErrors"))
    sources = {e["source"]: e["error"] for e in errors["import_errors"]}
    assert "SyntaxError" in sources["$PLUGINS_FOLDER/broken_plugin.py"]
    assert "executors" in sources["$PLUGINS_FOLDER/loud.py"]
    assert errors["total_entries"] == 2
    # Plugins name users' code: ops and admins read them, as the Plugins page.
    assert _as(world, "viewer").get("/api/v2/plugins").status_code == 403
    assert _as(world, "viewer").get("/api/v2/plugins/importErrors").status_code == 403


# -- sign-in redirects ----------------------------------------------------------------------


def test_auth_login_and_logout_lead_to_conveyors_pages(world: World) -> None:
    client = world.client()
    plain = client.get("/api/v2/auth/login", follow_redirects=False)
    assert plain.status_code == 307 and plain.headers["location"] == "/conveyor/login"
    onward = client.get(
        "/api/v2/auth/login", params={"next": "/dags/pipeline"}, follow_redirects=False
    )
    assert onward.headers["location"] == "/conveyor/login?next=/dags/pipeline"
    same_host = client.get(
        "/api/v2/auth/login",
        params={"next": "http://testserver/conveyor/runs"},
        follow_redirects=False,
    )
    assert same_host.headers["location"] == "/conveyor/login?next=/conveyor/runs"
    elsewhere = client.get("/api/v2/auth/login", params={"next": "https://evil.example/"})
    assert elsewhere.status_code == 400 and "another site" in elsewhere.json()["detail"]
    browser = world.client("viewer")
    assert browser.get("/api/v1/me").status_code == 200
    out = browser.get("/api/v2/auth/logout", follow_redirects=False)
    assert out.status_code == 307 and out.headers["location"] == "/conveyor/login"
    assert browser.get("/api/v1/me").status_code == 401


# -- parse requests -------------------------------------------------------------------------


def _parsed_at(world: World, fileloc: str) -> Any:
    with world.store.read() as conn:
        return conn.execute(
            select(dag_file.c.parsed_at).where(dag_file.c.fileloc == fileloc)
        ).scalar_one()


def test_a_file_token_asks_for_its_file_to_be_parsed_now(world: World) -> None:
    op = _as(world, "op")
    dag = _ok(op.get("/api/v2/dags/pipeline"))
    token = dag["file_token"]
    assert file_tokens.read(world.settings, token) == dag["fileloc"]
    assert (
        _ok(op.get("/api/v2/dags", params={"dag_id_pattern": "pipe"}))["dags"][0]["file_token"]
        == token
    )
    before = _parsed_at(world, dag["fileloc"])
    assert _ok(op.put(f"/api/v2/parseDagFile/{token}"), 201) is None
    with world.store.read() as conn:
        assert parse_requests.pending_requests(conn) == [dag["fileloc"]]
    # The processor parses the file, unchanged as it is, and takes the request.
    DagFileProcessor(world.store, world.settings.dags_path, timeout=30, scan_every=1).sync()
    with world.store.read() as conn:
        assert parse_requests.pending_requests(conn) == []
    assert _parsed_at(world, dag["fileloc"]) > before
    audit = _ok(world.client("admin").get("/api/v1/audit", params={"action": "dag.reparse"}))
    assert [e["target"] for e in audit["entries"]] == ["pipeline"]


def test_parse_requests_refuse_bad_tokens_and_readers(world: World) -> None:
    op = _as(world, "op")
    token = _ok(op.get("/api/v2/dags/pipeline"))["file_token"]
    assert _as(world, "viewer").put(f"/api/v2/parseDagFile/{token}").status_code == 403
    garbage = op.put("/api/v2/parseDagFile/not-a-token")
    assert garbage.status_code == 400 and "signature" in garbage.json()["detail"]
    path_part, _, _mac = token.partition(".")
    forged = op.put(f"/api/v2/parseDagFile/{path_part}.AAAA")
    assert forged.status_code == 400 and "does not match" in forged.json()["detail"]
    other_file = file_tokens.sign(world.settings, str(world.tmp / "dags" / "nothing.py"))
    unknown = op.put(f"/api/v2/parseDagFile/{other_file}")
    assert unknown.status_code == 404 and "file_token" in unknown.json()["detail"]
    with world.store.read() as conn:
        assert parse_requests.pending_requests(conn) == []
