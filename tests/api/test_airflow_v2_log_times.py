"""Each line of a try's log carries the time it was written, in the log file and in
``/api/v2``'s structured log lines: printed lines, records of the task's loggers, a line
printed in two parts, a subprocess writing straight to the try's descriptors and a
BashOperator's output, each pair written about a second apart. The local executor's
runner processes; both stores."""

from __future__ import annotations

import re
from pathlib import Path

from api_helpers import World, make_world, module_world

from conveyor.loading.processor import DagFileProcessor
from conveyor.web.airflow_api.log_lines import structured
from conveyor.worker.runner import log_path_for
from log_times import DAG_ID, PAIRS, assert_pairs_apart, dag_file


def _build(tmp: Path, url: str) -> World:
    built = make_world(tmp, url, execute=())
    (built.settings.dags_path / "log_times.py").write_text(dag_file())
    DagFileProcessor(built.store, built.settings.dags_path, timeout=20, scan_every=60).sync()
    run_pk = built.trigger(DAG_ID)
    built.run(run_pk)
    built.run_ids[DAG_ID] = built.run_id(run_pk)
    return built


world = module_world("world", _build)


def _stamped_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"^\[\d{4}-\d\d-\d\d ", line)]


def test_every_line_of_the_log_file_starts_with_the_time_it_was_written(world: World) -> None:
    for task_id in PAIRS:
        path = log_path_for(world.settings, DAG_ID, world.run_ids[DAG_ID], task_id, 1)
        text = path.read_text()
        assert _stamped_lines(text) == text.splitlines(), text
        assert_pairs_apart(task_id, structured(text))
        # A record reads as Airflow's: the time, then where, the level and the message.
        if task_id == "prints":
            assert re.search(r"^\[[\d\- :,]+\] \{[^}]+:\d+\} INFO - logged first$", text, re.M)


def test_the_structured_log_lines_carry_those_times(world: World) -> None:
    token = world.client().post(
        "/auth/token", json={"username": "viewer", "password": "viewer-secret"}
    )
    assert token.status_code == 201, token.text
    viewer = world.token_client(token.json()["access_token"])
    run_id = world.run_ids[DAG_ID]
    for task_id in PAIRS:
        answer = viewer.get(
            f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/logs/1"
        )
        assert answer.status_code == 200, answer.text
        content = answer.json()["content"]
        assert_pairs_apart(task_id, content)
        printed = next(m for m in content if m["event"] in ("printed first", "bash first"))
        assert printed["logger"] == "task.stdout"
        assert printed["timestamp"].endswith("Z")
