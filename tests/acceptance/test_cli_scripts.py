"""The `conveyor` command as a script runs it: through pipes, parsing what it prints.

Every list and show command is run with ``-o json`` in a subprocess whose stdout is a pipe,
and its JSON is compared with what the REST API answers for the same object; tables must
keep long ids whole without a terminal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
LONG_ID = "a_pipeline_whose_id_is_sixty_characters_long_for_pipes_00060"
assert len(LONG_ID) == 60

PIPELINE = f"""
from conveyor import DAG, task

with DAG("{LONG_ID}", description="long id"):
    @task
    def extract():
        print("extracting")
        return 41

    @task
    def load(x):
        return x + 1

    load(extract())
"""


def conveyor(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CONVEYOR, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def as_json(env: dict[str, str], *args: str) -> Any:
    result = conveyor(env, *args, "-o", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A SQLite installation with one finished run, a pool, a connection, a variable, a user."""
    tmp = tmp_path_factory.mktemp("scripts")
    dags = tmp / "dags"
    dags.mkdir()
    (dags / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(tmp / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_SCHEDULER_LOOP_SECONDS": "0.2",
        "CONVEYOR_DAG_SCAN_SECONDS": "0.2",
    }
    env.pop("COLUMNS", None)  # a script's environment: no terminal, no width
    for args in (
        ("dags", "trigger", LONG_ID),
        ("pools", "set", "warehouse", "3", "--description", "the warehouse"),
        ("connections", "add", "db", "--uri", "postgresql://me:s3cret@db.example:5432/sales"),
        ("variables", "set", "region", "eu-west-1"),
        ("variables", "set", "api_password", "hunter2"),
    ):
        assert conveyor(env, *args).returncode == 0, args
    created = subprocess.run(
        [CONVEYOR, "users", "create", "admin", "--role", "admin", "--password-stdin"],
        env=env,
        input="admin-secret-1\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    scheduler = subprocess.Popen(
        [CONVEYOR, "scheduler"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            runs = as_json(env, "runs", "list")["runs"]
            if runs and runs[0]["state"] == "success":
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"the run did not finish: {runs}")
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=30)
    yield env


@pytest.fixture(scope="module")
def api(home: dict[str, str]) -> Iterator[TestClient]:
    """The web app on the same store, called with an admin's API token."""
    from conveyor.config import load_config
    from conveyor.web.app import create_app

    token = conveyor(home, "users", "token", "admin").stdout.strip()
    saved = dict(os.environ)
    os.environ.update({k: home[k] for k in ("CONVEYOR_HOME", "CONVEYOR_DAGS_FOLDER")})
    try:
        settings = load_config().settings
    finally:
        os.environ.clear()
        os.environ.update(saved)
    with TestClient(
        create_app(settings),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


def api_json(client: TestClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def test_dags_list_piped_keeps_a_sixty_character_id_whole(home: dict[str, str]) -> None:
    table = conveyor(home, "dags", "list")  # the default form, stdout a pipe
    assert table.returncode == 0, table.stderr
    assert LONG_ID in table.stdout
    assert "…" not in table.stdout
    plain = conveyor(home, "dags", "list", "-o", "plain").stdout.splitlines()
    assert plain[0].split("\t") == ["dag", "schedule", "paused", "next run", "last run", "file"]
    assert plain[1].split("\t")[0] == LONG_ID
    runs = conveyor(home, "runs", "list").stdout
    run_id = as_json(home, "runs", "list")["runs"][0]["run_id"]
    assert run_id in runs  # a run id is long too: manual__<ISO time with microseconds>


def test_every_list_and_show_command_prints_json_through_a_pipe(home: dict[str, str]) -> None:
    run_id = as_json(home, "runs", "list")["runs"][0]["run_id"]
    assert [d["dag_id"] for d in as_json(home, "dags", "list")["dags"]] == [LONG_ID]
    assert [t["task_id"] for t in as_json(home, "dags", "show", LONG_ID)["tasks"]] == [
        "extract",
        "load",
    ]
    assert as_json(home, "dags", "errors") == {"total": 0, "import_errors": []}
    assert as_json(home, "runs", "show", LONG_ID, "latest")["task_states"] == {"success": 2}
    listed = as_json(home, "tasks", "list", LONG_ID, run_id)["task_instances"]
    assert [(t["task_id"], t["state"]) for t in listed] == [
        ("extract", "success"),
        ("load", "success"),
    ]
    why = as_json(home, "tasks", "why", LONG_ID, "latest", "load")
    assert why["tries"][0]["state"] == "success" and why["run_id"] == run_id
    assert as_json(home, "workers") == {"workers": []}
    (stopped,) = as_json(home, "schedulers")["schedulers"]
    assert stopped["alive"] is False and stopped["stopped_at"] is not None
    pools = {p["name"]: p for p in as_json(home, "pools", "list")["pools"]}
    assert pools["warehouse"]["slots"] == 3
    (db,) = as_json(home, "connections", "list")["connections"]
    assert db["password"] == "***" and db["schema"] == "sales"
    assert as_json(home, "connections", "get", "db")["host"] == "db.example"
    variables = {v["key"]: v["value"] for v in as_json(home, "variables", "list")["variables"]}
    assert variables == {"api_password": "***", "region": "eu-west-1"}
    assert as_json(home, "variables", "get", "region")["value"] == "eu-west-1"
    assert [u["username"] for u in as_json(home, "users", "list")["users"]] == ["admin"]
    settings = as_json(home, "config", "show")["settings"]
    assert settings["parallelism"] == {"value": 8, "source": "default"}
    assert settings["dags_folder"]["source"] == "env CONVEYOR_DAGS_FOLDER"
    health = as_json(home, "health", "--only", "store", "--only", "schema")
    assert health["status"] == "ok" and set(health["checks"]) == {"store", "schema"}


def test_cli_json_equals_the_api_json_for_the_same_objects(
    home: dict[str, str], api: TestClient
) -> None:
    run_id = as_json(home, "runs", "list")["runs"][0]["run_id"]
    run = f"/api/v1/dags/{LONG_ID}/runs/{run_id}"
    pairs: list[tuple[tuple[str, ...], str]] = [
        (("dags", "list"), "/api/v1/dags"),
        (("dags", "show", LONG_ID), f"/api/v1/dags/{LONG_ID}"),
        (("dags", "errors"), "/api/v1/import-errors"),
        (("runs", "list", "--limit", "20"), "/api/v1/runs?limit=20"),
        (("runs", "list", "--dag", LONG_ID), f"/api/v1/dags/{LONG_ID}/runs?limit=20"),
        (("runs", "show", LONG_ID, run_id), run),
        (("tasks", "list", LONG_ID, run_id), f"{run}/tasks"),
        (("tasks", "why", LONG_ID, run_id, "extract"), f"{run}/tasks/extract"),
        (("workers",), "/api/v1/workers"),
        (("schedulers",), "/api/v1/schedulers"),
        (("pools", "list"), "/api/v1/pools"),
        (("connections", "list"), "/api/v1/connections"),
        (("connections", "get", "db"), "/api/v1/connections/db"),
        (("connections", "get", "db", "--reveal"), "/api/v1/connections/db?reveal=true"),
        (("variables", "list"), "/api/v1/variables"),
        (("variables", "get", "api_password"), "/api/v1/variables/api_password"),
        (("users", "list"), "/api/v1/users"),
    ]
    for args, path in pairs:
        assert as_json(home, *args) == api_json(api, path), f"conveyor {' '.join(args)} != {path}"
    # No scheduler runs now: unhealthy, exit 1 and 503, the same report either way.
    health = conveyor(home, "health", "-o", "json")
    assert health.returncode == 1
    web = api.get("/api/v1/health")
    assert web.status_code == 503
    assert json.loads(health.stdout) == web.json()
    assert web.json()["checks"]["schedulers"]["ok"] is False


def test_yaml_and_plain_forms_carry_the_same_data(home: dict[str, str]) -> None:
    as_yaml = yaml.safe_load(conveyor(home, "runs", "list", "-o", "yaml").stdout)
    assert as_yaml == as_json(home, "runs", "list")
    plain = conveyor(home, "variables", "list", "-o", "plain").stdout.splitlines()
    assert plain == ["key\tvalue\tdescription", "api_password\t***\t", "region\teu-west-1\t"]
    listing = conveyor(home, "tasks", "list", LONG_ID, "latest", "-o", "plain").stdout
    header, *rows = listing.splitlines()
    assert header.split("\t")[:3] == ["task", "map index", "state"]
    assert [r.split("\t")[:3] for r in rows] == [
        ["extract", "", "success"],
        ["load", "", "success"],
    ]
