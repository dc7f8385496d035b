"""Reading through the API: DAGs, runs, task instances, tries, logs, XCom, cluster, meta.

Everything read here was made by really parsing DAG files and really running them.
"""

from __future__ import annotations

import re

from api_helpers import (
    World,
    world_fixture,  # noqa: F401  (fixtures)
)


def test_dag_list_shows_parsed_dags_with_recent_runs(world: World) -> None:
    body = world.client("viewer").get("/api/v1/dags").json()
    dags = {d["dag_id"]: d for d in body["dags"]}
    assert set(dags) == {"pipeline", "failing"}  # the broken file defines none
    assert body["total"] == 2
    pipeline = dags["pipeline"]
    assert pipeline["description"] == "counts things"
    assert pipeline["tags"] == ["api", "numbers"]
    assert pipeline["owner"] == "airflow, data-team"  # its other tasks name no owner
    assert pipeline["fileloc"].endswith("pipeline.py")
    assert pipeline["is_paused"] is False
    assert isinstance(pipeline["schedule"], str) and pipeline["schedule"]
    assert [r["run_id"] for r in pipeline["recent_runs"]] == [world.run_ids["pipeline"]]
    assert pipeline["recent_runs"][0]["state"] == "success"
    assert dags["failing"]["recent_runs"][0]["state"] == "failed"
    # A DAG whose tasks name no owner is Airflow's default owner's, as Airflow shows it.
    assert dags["failing"]["owner"] == "airflow"


def test_dag_list_filters_by_tag(world: World) -> None:
    body = world.client("viewer").get("/api/v1/dags", params={"tag": "numbers"}).json()
    assert [d["dag_id"] for d in body["dags"]] == ["pipeline"]


def test_import_errors_name_file_line_and_message(world: World) -> None:
    body = world.client("viewer").get("/api/v1/import-errors").json()
    assert body["total"] == 1
    error = body["import_errors"][0]
    assert error["file"].endswith("broken.py")
    assert error["line"] == 4
    assert "NameError" in error["message"] and "'this'" in error["message"]


def test_import_errors_show_the_dag_folders_path_to_admins_only(world: World) -> None:
    """The install's paths reach only those who run it: other roles read paths within the
    DAG folder, as Airflow shows a bundle-relative one."""
    folder = str(world.settings.dags_path.resolve())
    seen = {
        role: world.client(role).get("/api/v1/import-errors").json()["import_errors"][0]
        for role in ("viewer", "op", "admin")
    }
    for role in ("viewer", "op"):
        assert seen[role]["file"] == "broken.py", seen[role]
        shown = [seen[role]["message"], seen[role]["traceback"] or ""]
        assert not any(folder in text for text in shown), seen[role]
    assert seen["admin"]["file"] == f"{folder}/broken.py"


def test_dag_detail_has_tasks_in_order_and_typed_params(world: World) -> None:
    body = world.client("viewer").get("/api/v1/dags/pipeline").json()
    tasks = {t["task_id"]: t for t in body["tasks"]}
    assert [t["task_id"] for t in body["tasks"]] == ["extract", "load", "talk"]
    assert tasks["load"]["upstream"] == ["extract"]
    assert tasks["load"]["downstream"] == ["talk"]
    assert tasks["talk"]["operator"] == "BashOperator"
    assert tasks["talk"]["queue"] == "default"
    assert tasks["talk"]["retries"] == 0
    assert tasks["talk"]["trigger_rule"] == "all_success"
    params = {p["name"]: p for p in body["params"]}
    assert params["n"] == {
        "name": "n",
        "default": 3,
        "type": "integer",
        "description": None,  # a plain default: no Param schema or description
        "param_schema": None,
        "required": False,
    }
    assert params["label"]["type"] == "string"
    assert params["ratio"]["type"] == "number"


def test_dag_source_is_the_file_as_parsed(world: World) -> None:
    body = world.client("viewer").get("/api/v1/dags/pipeline/source").json()
    assert body["source"] == (world.settings.dags_path / "pipeline.py").read_text()
    assert body["fileloc"].endswith("pipeline.py")


def test_runs_list_and_detail(world: World) -> None:
    client = world.client("viewer")
    body = client.get("/api/v1/dags/pipeline/runs").json()
    assert body["total"] == 1 and body["limit"] == 25 and body["offset"] == 0
    run = body["runs"][0]
    assert run["run_id"] == world.run_ids["pipeline"]
    assert run["state"] == "success" and run["run_type"] == "manual"
    assert run["created_by"] == "test"
    detail = client.get(f"/api/v1/dags/pipeline/runs/{run['run_id']}").json()
    assert detail["task_states"] == {"success": 3}
    failed = client.get(f"/api/v1/dags/failing/runs/{world.run_ids['failing']}").json()
    assert failed["task_states"] == {"failed": 1, "upstream_failed": 1}


def test_runs_filter_by_state_across_dags(world: World) -> None:
    client = world.client("viewer")
    failed = client.get("/api/v1/runs", params={"state": "failed"}).json()
    assert [r["dag_id"] for r in failed["runs"]] == ["failing"]
    everything = client.get("/api/v1/runs").json()
    assert everything["total"] == 2
    none = client.get("/api/v1/dags/pipeline/runs", params={"state": "failed"}).json()
    assert none == {"total": 0, "limit": 25, "offset": 0, "runs": []}


def test_task_instances_of_a_run_in_dag_order(world: World) -> None:
    run_id = world.run_ids["pipeline"]
    body = world.client("viewer").get(f"/api/v1/dags/pipeline/runs/{run_id}/tasks").json()
    tis = body["task_instances"]
    assert [t["task_id"] for t in tis] == ["extract", "load", "talk"]
    assert all(t["state"] == "success" and t["try_number"] == 1 for t in tis)
    assert all(t["duration"] is not None and t["duration"] >= 0 for t in tis)
    assert all(t["hostname"] for t in tis)


def test_task_instance_detail_has_tries_events_and_error(world: World) -> None:
    run_id = world.run_ids["failing"]
    client = world.client("viewer")
    body = client.get(f"/api/v1/dags/failing/runs/{run_id}/tasks/explode").json()
    assert body["state"] == "failed"
    assert body["run_state"] == "failed"
    (attempt,) = body["tries"]
    assert attempt["number"] == 1 and attempt["state"] == "failed"
    assert attempt["exit_kind"] == "exception"
    assert "column 'amount' is missing" in attempt["error"]
    assert attempt["host"] and attempt["pid"] and attempt["has_log"]
    assert attempt["start"] <= attempt["end"]
    kinds = [e["kind"] for e in attempt["events"]]
    assert kinds[:3] == ["scheduled", "queued", "started"] and kinds[-1] == "failed"
    after = client.get(f"/api/v1/dags/failing/runs/{run_id}/tasks/after").json()
    assert after["state"] == "upstream_failed"
    assert after["waiting_for"] == []


def test_log_pages_by_offset_and_tail(world: World) -> None:
    run_id = world.run_ids["pipeline"]
    client = world.client("viewer")
    url = f"/api/v1/dags/pipeline/runs/{run_id}/tasks/talk/tries/1/log"
    whole = client.get(url, params={"limit": 1 << 20}).json()
    assert "line 1\n" in whole["text"] and "line 300\n" in whole["text"]
    assert "n=3" in whole["text"]  # the param's default, rendered into the command
    assert whole["complete"] is True
    assert whole["next_offset"] == whole["size"] == len(whole["text"].encode())
    first = client.get(url, params={"limit": 100}).json()
    assert first["offset"] == 0 and first["next_offset"] == 100
    second = client.get(url, params={"offset": first["next_offset"], "limit": 100}).json()
    assert first["text"] + second["text"] == whole["text"][:200]
    end = client.get(url, params={"offset": whole["size"]}).json()
    assert end["text"] == "" and end["next_offset"] == whole["size"]
    tail = client.get(url, params={"tail": 2}).json()
    assert tail["text"].splitlines() == whole["text"].splitlines()[-2:]
    assert tail["next_offset"] == whole["size"]


def test_xcom_values_of_a_task(world: World) -> None:
    run_id = world.run_ids["pipeline"]
    client = world.client("viewer")
    body = client.get(f"/api/v1/dags/pipeline/runs/{run_id}/tasks/extract/xcom").json()
    assert body["task_id"] == "extract"
    assert [(x["key"], x["value"]) for x in body["xcom"]] == [("return_value", {"rows": 42})]
    load = client.get(f"/api/v1/dags/pipeline/runs/{run_id}/tasks/load/xcom").json()
    assert load["xcom"][0]["value"] == 42


def test_grid_has_task_order_and_states_per_run(world: World) -> None:
    body = world.client("viewer").get("/api/v1/dags/failing/grid", params={"limit": 5}).json()
    assert body["task_order"] == ["explode", "after"]
    (run,) = body["runs"]
    assert run["run_id"] == world.run_ids["failing"]
    assert run["tasks"] == {"explode": "failed", "after": "upstream_failed"}
    assert body["older"] is False and body["newer"] is False


def test_grid_compact_gives_a_letter_per_task(world: World) -> None:
    client = world.client("viewer")
    full = client.get("/api/v1/dags/failing/grid").json()
    body = client.get("/api/v1/dags/failing/grid", params={"compact": "true"}).json()
    assert body["task_order"] == ["explode", "after"]
    (run,) = body["runs"]
    assert run["tasks"] == {}
    decoded = {
        task: body["states"][ord(code) - ord("a")]
        for task, code in zip(body["task_order"], run["codes"], strict=True)
    }
    assert decoded == full["runs"][0]["tasks"] == {"explode": "failed", "after": "upstream_failed"}
    assert full["runs"][0]["codes"] is None and full["states"] is None
    refused = client.get("/api/v1/dags/failing/grid", params={"compact": "maybe"})
    assert refused.status_code == 422, refused.text


def test_grid_of_some_tasks_or_of_the_runs_alone(world: World) -> None:
    client = world.client("viewer")
    one = client.get("/api/v1/dags/failing/grid", params={"task_id": "after"}).json()
    assert one["task_order"] == ["explode", "after"]
    assert one["runs"][0]["tasks"] == {"after": "upstream_failed"}
    runs_alone = client.get(
        "/api/v1/dags/failing/grid", params={"task_id": "", "compact": "true"}
    ).json()
    (run,) = runs_alone["runs"]
    assert run["run_id"] == world.run_ids["failing"] and run["state"] == "failed"
    assert run["codes"] == ".." and runs_alone["states"] == []  # no task instance read
    # The Durations page draws the runs alone first: no state of a task in its HTML (but in
    # the lifecycle's colours and labels that every page carries).
    page = client.get("/dags/failing/durations").text
    page = re.sub(r'<style id="conveyor-state-colours">.*?</style>', "", page, flags=re.S)
    page = re.sub(r'<script [^>]*id="conveyor-states">.*?</script>', "", page, flags=re.S)
    assert world.run_ids["failing"] in page and "upstream_failed" not in page


def test_grid_pages_by_logical_date(world: World) -> None:
    client = world.client("viewer")
    latest = client.get("/api/v1/dags/failing/grid").json()
    dated = latest["runs"][0]["logical_date"]
    # The page before the only run is empty, and says a newer one exists; and the other way.
    before = client.get("/api/v1/dags/failing/grid", params={"before": dated}).json()
    assert before["runs"] == [] and before["newer"] is True and before["older"] is False
    after = client.get("/api/v1/dags/failing/grid", params={"after": dated}).json()
    assert after["runs"] == [] and after["older"] is True and after["newer"] is False
    early = "2000-01-01T00:00:00Z"
    page = client.get("/api/v1/dags/failing/grid", params={"after": early, "limit": 1}).json()
    assert [r["run_id"] for r in page["runs"]] == [world.run_ids["failing"]]
    for bad, reason in (
        ({"before": "2026-01-01T00:00:00"}, "time zone"),
        ({"before": early, "after": early}, "not both"),
        ({"before": "9999-12-31T23:59:59-23:59"}, "out of range"),
    ):
        refused = client.get("/api/v1/dags/failing/grid", params=bad)
        assert refused.status_code == 422, refused.text
        assert reason in refused.text
    # The page leaves a date it cannot use out and shows the latest runs.
    shown = client.get("/dags/failing", params={"before": "9999-12-31T23:59:59-23:59"})
    assert shown.status_code == 200 and world.run_ids["failing"] in shown.text


def test_schedulers_with_heartbeats(world: World) -> None:
    body = world.client("viewer").get("/api/v1/schedulers").json()
    assert body["schedulers"], "the scheduler that ran the runs registered itself"
    newest = body["schedulers"][0]
    assert newest["hostname"] and newest["pid"] > 0
    assert newest["heartbeat_at"] >= newest["started_at"]


def test_workers_list(world: World) -> None:
    # The local executor has no Celery workers: an empty list, not an error.
    assert world.client("viewer").get("/api/v1/workers").json() == {"workers": []}


def test_health_and_version_need_no_login(world: World) -> None:
    client = world.client(None)
    health = client.get("/health")
    assert health.status_code in (200, 503)
    assert health.json()["status"] in ("ok", "healthy", "unhealthy", "degraded")
    assert client.get("/api/v1/health").json() == health.json()
    from conveyor import __version__

    assert client.get("/api/v1/version").json() == {"version": __version__}


def test_me_names_the_user_and_role(world: World) -> None:
    body = world.client("op").get("/api/v1/me").json()
    assert body["username"] == "op" and body["role"] == "op" and body["via_token"] is False
    assert body["csrf_token"]
