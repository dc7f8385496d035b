"""Dynamic task mapping through the real scheduler, DAG file processor and local executor.

A mapped task becomes one task instance per element of a list known only at run time; each
instance has its own state, tries, log and XCom, and downstream tasks collect the results.
Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from conveyor.states import RunState, TaskState
from conveyor.store.engine import Store
from conveyor.store.tables import task_instance, task_try, xcom
from conveyor.web import accounts
from conveyor.web.app import create_app
from run_env import Env

CONVEYOR = str(Path(sys.executable).parent / "conveyor")


def instances(env: Env, run_pk: int, task_id: str) -> list[Any]:
    """The task's instances in map_index order: (map_index, state, try_number)."""
    with env.store.read() as conn:
        return list(
            conn.execute(
                select(task_instance.c.map_index, task_instance.c.state, task_instance.c.try_number)
                .where(task_instance.c.run_pk == run_pk, task_instance.c.task_id == task_id)
                .order_by(task_instance.c.map_index)
            )
        )


def xcoms(env: Env, run_pk: int, task_id: str) -> list[tuple[int, Any]]:
    with env.store.read() as conn:
        rows = conn.execute(
            select(xcom.c.map_index, xcom.c.value)
            .where(xcom.c.run_pk == run_pk, xcom.c.task_id == task_id)
            .order_by(xcom.c.map_index)
        )
        return [(r.map_index, r.value) for r in rows]


def log_texts(env: Env, run_pk: int, task_id: str) -> dict[tuple[int, int], str]:
    """(map_index, try_number) -> the try's log text, read from the path the try recorded."""
    with env.store.read() as conn:
        rows = conn.execute(
            select(task_instance.c.map_index, task_try.c.try_number, task_try.c.log_path)
            .join(task_try, task_try.c.ti_id == task_instance.c.id)
            .where(task_instance.c.run_pk == run_pk, task_instance.c.task_id == task_id)
        )
        return {(r.map_index, r.try_number): Path(r.log_path).read_text() for r in rows}


def test_a_task_mapped_over_an_upstream_list_runs_once_per_element_and_downstream_collects(
    env: Env,
) -> None:
    env.write_dag(
        "mapped.py",
        """
        with DAG("mapped", start_date=START):
            @task
            def numbers():
                return [3, 1, 4, 1, 5]

            @task
            def square(x):
                print(f"squaring {x}")
                return x * x

            @task
            def total(values):
                return {"values": values, "sum": sum(values)}

            total(square.expand(x=numbers()))
        """,
    )
    env.sync()
    run_pk = env.trigger("mapped")
    env.run(run_pk)
    assert env.run_state(run_pk) is RunState.SUCCESS
    found = instances(env, run_pk, "square")
    assert [(i.map_index, i.state) for i in found] == [(i, "success") for i in range(5)]
    assert xcoms(env, run_pk, "square") == [(0, 9), (1, 1), (2, 16), (3, 1), (4, 25)]
    assert xcoms(env, run_pk, "total") == [(-1, {"values": [9, 1, 16, 1, 25], "sum": 52})]
    logs = log_texts(env, run_pk, "square")
    assert sorted(logs) == [(i, 1) for i in range(5)]
    for index, x in enumerate([3, 1, 4, 1, 5]):
        assert f"squaring {x}" in logs[(index, 1)]
    assert len({text for text in logs.values()}) == 5  # one log file per instance


def test_one_failing_instance_retries_alone_and_then_fails_the_downstream(env: Env) -> None:
    env.write_dag(
        "flaky.py",
        """
        with DAG("flaky", start_date=START):
            @task
            def items():
                return ["a", "b", "c"]

            @task(retries=1, retry_delay=0)
            def handle(item, ti=None):
                if item == "b":
                    raise ValueError(f"cannot handle {item} (try {ti.try_number})")
                return item.upper()

            @task
            def report(results):
                return results

            report(handle.expand(item=items()))
        """,
    )
    env.sync()
    run_pk = env.trigger("flaky")
    env.run(run_pk)
    assert env.run_state(run_pk) is RunState.FAILED
    found = {i.map_index: (i.state, i.try_number) for i in instances(env, run_pk, "handle")}
    assert found == {0: ("success", 1), 1: ("failed", 2), 2: ("success", 1)}
    logs = log_texts(env, run_pk, "handle")
    assert "cannot handle b (try 1)" in logs[(1, 1)] and "cannot handle b (try 2)" in logs[(1, 2)]
    assert instances(env, run_pk, "report")[0].state == TaskState.UPSTREAM_FAILED.value


def test_an_empty_list_skips_the_mapped_task_and_downstream_follows_trigger_rules(
    env: Env,
) -> None:
    env.write_dag(
        "empty.py",
        """
        with DAG("empty", start_date=START):
            @task
            def nothing():
                return []

            @task
            def work(x):
                return x

            @task
            def strict(values):
                return values

            @task(trigger_rule="all_done")
            def cleanup():
                return "cleaned"

            mapped = work.expand(x=nothing())
            strict(mapped)
            mapped >> cleanup()
        """,
    )
    env.sync()
    run_pk = env.trigger("empty")
    env.run(run_pk)
    assert env.run_state(run_pk) is RunState.SUCCESS
    assert [(i.map_index, i.state) for i in instances(env, run_pk, "work")] == [(-1, "skipped")]
    assert instances(env, run_pk, "strict")[0].state == "skipped"
    assert xcoms(env, run_pk, "cleanup") == [(-1, "cleaned")]


def test_partial_constants_and_two_expanded_lists_make_the_cross_product(env: Env) -> None:
    env.write_dag(
        "cross.py",
        """
        with DAG("cross", start_date=START):
            @task
            def sizes():
                return ["S", "L"]

            @task
            def label(prefix, colour, size):
                return f"{prefix}-{colour}-{size}"

            @task
            def collect(labels):
                return labels

            labels = label.partial(prefix="shirt").expand(
                colour=["red", "blue", "green"], size=sizes()
            )
            collect(labels)
        """,
    )
    env.sync()
    run_pk = env.trigger("cross")
    env.run(run_pk)
    assert env.run_state(run_pk) is RunState.SUCCESS
    expected = [f"shirt-{c}-{s}" for c in ("red", "blue", "green") for s in ("S", "L")]
    assert [value for _, value in xcoms(env, run_pk, "label")] == expected
    assert xcoms(env, run_pk, "collect") == [(-1, expected)]


def test_a_mapped_bash_operator_renders_its_map_index_and_logs_per_instance(env: Env) -> None:
    env.write_dag(
        "bash.py",
        """
        with DAG("bash_mapped", start_date=START):
            BashOperator.partial(task_id="say", retries=0).expand(
                bash_command=["echo apple {{ ti.map_index }}", "echo pear {{ ti.map_index }}"]
            )
        """,
    )
    env.sync()
    run_pk = env.trigger("bash_mapped")
    env.run(run_pk)
    assert env.run_state(run_pk) is RunState.SUCCESS
    assert xcoms(env, run_pk, "say") == [(0, "apple 0"), (1, "pear 1")]
    logs = log_texts(env, run_pk, "say")
    assert "apple 0" in logs[(0, 1)] and "pear 1" not in logs[(0, 1)]
    assert "pear 1" in logs[(1, 1)]
    with env.store.read() as conn:
        paths = conn.execute(
            select(task_try.c.log_path)
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .where(task_instance.c.task_id == "say")
        ).scalars()
        assert sorted(Path(p).parent.name for p in paths) == ["map_index=0", "map_index=1"]


def test_an_upstream_value_that_is_not_a_list_fails_the_mapped_task_with_a_reason(
    env: Env,
) -> None:
    env.write_dag(
        "bad.py",
        """
        with DAG("bad_mapped", start_date=START):
            @task
            def text():
                return "not a list"

            @task
            def each(x):
                return x

            each.expand(x=text())
        """,
    )
    env.sync()
    run_pk = env.trigger("bad_mapped")
    env.run(run_pk)
    assert env.run_state(run_pk) is RunState.FAILED
    assert instances(env, run_pk, "each")[0].state == "upstream_failed"
    assert any("is str, not a list" in e.message for e in env.events(run_pk, "each"))


def test_the_api_shows_a_mapped_task_as_one_grid_cell_and_lists_its_instances(env: Env) -> None:
    env.write_dag(
        "api_mapped.py",
        """
        with DAG("api_mapped", start_date=START):
            @task
            def each(x):
                if x == 2:
                    raise ValueError("two is bad")
                return x

            each.expand(x=[1, 2, 3])
        """,
    )
    env.sync()
    run_pk = env.trigger("api_mapped")
    env.run(run_pk)
    settings = env.settings()
    accounts.create_user(env.store, "viewer", "viewer", "viewer-secret")
    token = accounts.create_token(env.store, "viewer", "test")
    app = create_app(settings, Store(env.store.url))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        grid = client.get("/api/v1/dags/api_mapped/grid").json()
        (run,) = grid["runs"]
        assert run["tasks"] == {"each": "failed"}
        assert run["mapped"] == {"each": {"success": 2, "failed": 1}}
        run_id = run["run_id"]
        detail = client.get(f"/api/v1/dags/api_mapped/runs/{run_id}/tasks/each").json()
        assert [(i["map_index"], i["state"]) for i in detail["instances"]] == [
            (0, "success"),
            (1, "failed"),
            (2, "success"),
        ]
        listed = client.get(f"/api/v1/dags/api_mapped/runs/{run_id}/tasks").json()
        assert [i["map_index"] for i in listed["task_instances"]] == [0, 1, 2]
    app.state.store.dispose()


def test_the_cli_shows_each_instance_and_asks_which_one_for_logs(env: Env) -> None:
    env.write_dag(
        "cli_mapped.py",
        """
        with DAG("cli_mapped", start_date=START):
            @task
            def shout(word):
                print(f"word is {word}")
                return word.upper()

            shout.expand(word=["ab", "cd"])
        """,
    )
    env.sync()
    run_pk = env.trigger("cli_mapped")
    env.run(run_pk)
    environ = {
        **os.environ,
        "CONVEYOR_HOME": str(env.tmp / "home"),
        "CONVEYOR_DATABASE_URL": env.store.url,
        "COLUMNS": "200",
    }

    def conveyor(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CONVEYOR, *args], env=environ, capture_output=True, text=True, timeout=60
        )

    shown = conveyor("runs", "show", "cli_mapped")
    assert shown.returncode == 0, shown.stderr
    assert "shout[0]" in shown.stdout and "shout[1]" in shown.stdout
    ambiguous = conveyor("tasks", "logs", "cli_mapped", "latest", "shout")
    assert ambiguous.returncode == 1
    assert "mapped task with 2 instances: pass --map-index 0..1" in ambiguous.stderr
    log = conveyor("tasks", "logs", "cli_mapped", "latest", "shout", "--map-index", "1")
    assert log.returncode == 0, log.stderr
    assert "word is cd" in log.stdout and "word is ab" not in log.stdout
    why = conveyor("tasks", "why", "cli_mapped", "latest", "shout", "--map-index", "1")
    assert why.returncode == 0, why.stderr
    assert "cli_mapped.shout[1]" in why.stdout
    first = conveyor("tasks", "why", "cli_mapped", "latest", "shout")
    # Instance 0 was the mapped task's placeholder: its timeline tells of the expansion.
    assert "cli_mapped.shout[0]" in first.stdout and "expanded into 2 instances" in first.stdout
