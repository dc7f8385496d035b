"""Airflow's filters of the ``/api/v2`` lists that pollers lean on, each given data it must
split (both stores): ``updated_at_*`` on runs and task instances, keyset ``cursor`` paging,
listMapped's filters, and the DAG list's ``has_import_errors``, ``dag_run_state``, newest
run dates, bundle, favourite, timetable and asset filters."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api_helpers import World, make_world, module_world
from fastapi.testclient import TestClient

from conveyor.loading.processor import DagFileProcessor
from conveyor.store import runs

FAN = """
from conveyor import DAG, TaskGroup, task

with DAG("fan", tags=["fan"]):
    @task(map_index_template="{{ task.task_id }}")
    def each(x):
        if x == 1:
            raise ValueError("one is bad")
        return x

    with TaskGroup("grp"):
        @task
        def inside():
            return 1

        with TaskGroup("deeper"):
            @task
            def deepest():
                return 2

            deepest()
        inside()

    @task(trigger_rule="all_done")
    def total(xs):
        return 0

    total(each.expand(x=[0, 1, 2]))
"""

WATCHER = """
from datetime import datetime

from conveyor import DAG, Dataset, task

with DAG("watcher", schedule=[Dataset("s3://bucket/orders")], start_date=datetime(2024, 1, 1)):
    @task
    def read():
        return 1

    read()
"""

GOOD = """
from conveyor import DAG, task

with DAG("gone_bad"):
    @task
    def step():
        return 1

    step()
"""


def _build(tmp: Path, url: str) -> World:
    world = make_world(tmp, url)
    dags = tmp / "dags"
    for name, source in {"fan.py": FAN, "watcher.py": WATCHER, "gone_bad.py": GOOD}.items():
        (dags / name).write_text(source)
    DagFileProcessor(world.store, dags, timeout=30, scan_every=1).sync()
    # The file of a DAG that loaded once now fails: the DAG stays, with an import error.
    (dags / "gone_bad.py").write_text(GOOD + "\nthis is not python\n")
    DagFileProcessor(world.store, dags, timeout=30, scan_every=1).sync()
    first = world.trigger("fan")
    world.run(first)
    time.sleep(0.05)
    world.run_ids["between"] = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    second = world.trigger("fan")
    world.run(second)
    world.run_ids["fan_first"] = world.run_id(first)
    world.run_ids["fan_second"] = world.run_id(second)
    return world


world = module_world("world", _build)

RUNS = "/api/v2/dags/~/dagRuns"
TIS = "/api/v2/dags/~/dagRuns/~/taskInstances"


def _get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _run_ids(found: dict[str, Any]) -> list[str]:
    return [r["dag_run_id"] for r in found["dag_runs"]]


def _keys(found: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(t["dag_run_id"], t["task_id"], t["map_index"]) for t in found["task_instances"]]


def _dag_ids(found: dict[str, Any]) -> set[str]:
    return {d["dag_id"] for d in found["dags"]}


def test_updated_at_splits_runs_and_task_instances_by_their_last_change(world: World) -> None:
    client = world.client("viewer")
    between = world.run_ids["between"]
    later = _get(client, RUNS, updated_at_gte=between)
    assert _run_ids(later) == [world.run_ids["fan_second"]]
    earlier = _get(client, RUNS, updated_at_lt=between, limit=100)
    assert world.run_ids["fan_first"] in _run_ids(earlier)
    assert world.run_ids["fan_second"] not in _run_ids(earlier)
    assert later["total_entries"] + earlier["total_entries"] == _get(client, RUNS)["total_entries"]
    recent = _get(client, TIS, updated_at_gt=between, limit=100)
    assert recent["total_entries"] == 6  # 3 mapped, 2 in the group, total
    assert {t["dag_run_id"] for t in recent["task_instances"]} == {world.run_ids["fan_second"]}
    # The same bound through the store's own paging (one DAG, one run, inclusive).
    run = world.run_ids["fan_first"]
    one_run = f"/api/v2/dags/fan/dagRuns/{run}/taskInstances"
    none_after = _get(client, one_run, updated_at_gte=between)
    assert none_after["total_entries"] == 0
    bad = client.get(RUNS, params={"updated_at_gte": "2026-01-01T00:00:00"})
    assert bad.status_code == 422 and "timezone" in bad.text


def _walk(client: TestClient, path: str, key: str, **params: Any) -> list[list[Any]]:
    """Every page of a list by following ``next_cursor`` from an empty cursor."""
    pages = []
    cursor = ""
    while cursor is not None:
        found = _get(client, path, cursor=cursor, **params)
        assert found["total_entries_limit"] == 50_000
        pages.append(found[key])
        cursor = found["next_cursor"]
    return pages


def test_run_cursor_pages_cover_the_list_once_and_walk_back(world: World) -> None:
    client = world.client("viewer")
    for order in ("id", "-start_date", "dag_id"):
        whole = _run_ids(_get(client, RUNS, order_by=order, limit=100))
        pages = _walk(client, RUNS, "dag_runs", order_by=order, limit=2)
        assert [r["dag_run_id"] for page in pages for r in page] == whole, order
        assert all(len(page) == 2 for page in pages[:-1])
    first = _get(client, RUNS, cursor="", limit=2)
    assert first["previous_cursor"] is None and first["total_entries"] == 4
    second = _get(client, RUNS, cursor=first["next_cursor"], limit=2)
    assert second["next_cursor"] is None  # four runs, two a page
    back = _get(client, RUNS, cursor=second["previous_cursor"], limit=2)
    assert _run_ids(back) == _run_ids(first)
    assert back["previous_cursor"] is None and back["next_cursor"] is not None
    # Offset paging answers no cursors.
    plain = _get(client, RUNS, limit=2)
    assert plain["next_cursor"] is None and plain["total_entries_limit"] is None
    for wrong in ("not-a-cursor!", "W10"):  # garbage; a token of another shape
        answer = client.get(RUNS, params={"cursor": wrong})
        assert answer.status_code == 400, answer.text


def test_task_instance_cursor_pages_cover_the_list_once(world: World) -> None:
    client = world.client("viewer")
    whole = _keys(_get(client, TIS, order_by="task_id", limit=100))
    pages = _walk(client, TIS, "task_instances", order_by="task_id", limit=3)
    walked = [(t["dag_run_id"], t["task_id"], t["map_index"]) for p in pages for t in p]
    assert sorted(walked) == sorted(whole) and len(walked) == len(set(walked))
    assert [k[1] for k in walked] == sorted(k[1] for k in walked)
    failed = _walk(client, TIS, "task_instances", state="failed", limit=1)
    assert [t["task_id"] for page in failed for t in page] == ["explode", "each", "each"]


def test_list_mapped_applies_the_lists_filters(world: World) -> None:
    client = world.client("viewer")
    run = world.run_ids["fan_first"]
    path = f"/api/v2/dags/fan/dagRuns/{run}/taskInstances/each/listMapped"
    every = _get(client, path)
    assert [t["map_index"] for t in every["task_instances"]] == [0, 1, 2]

    def indexes(**params: Any) -> list[int]:
        return [t["map_index"] for t in _get(client, path, **params)["task_instances"]]

    assert indexes(state="failed") == [1]
    assert indexes(state="success") == [0, 2]
    assert indexes(map_index=[0, 2]) == [0, 2]
    assert indexes(order_by="-map_index") == [2, 1, 0]
    assert indexes(try_number=[1]) == [0, 1, 2]
    assert indexes(try_number=[2]) == []
    assert indexes(queue=["default"]) == [0, 1, 2]
    assert indexes(queue=["elsewhere"]) == []
    assert indexes(map_index=[1], try_number=[1], queue=["default"]) == [1]
    listed = client.post(
        f"/api/v2/dags/fan/dagRuns/{run}/taskInstances/list",
        json={"task_ids": ["each"], "queue": ["default"], "order_by": "-map_index"},
    )
    assert listed.status_code == 200, listed.text
    found = [(t["task_id"], t["map_index"]) for t in listed.json()["task_instances"]]
    assert found == [("each", 2), ("each", 1), ("each", 0)]


def test_task_instance_filters_split_groups_operators_and_ids(world: World) -> None:
    client = world.client("viewer")

    def tasks(**params: Any) -> set[str]:
        return {t["task_id"] for t in _get(client, TIS, limit=100, **params)["task_instances"]}

    everything = tasks()
    assert tasks(task_group_id="grp") == {"grp.inside", "grp.deeper.deepest"}
    one_run = f"/api/v2/dags/fan/dagRuns/{world.run_ids['fan_first']}/taskInstances"
    nested = _get(client, one_run, task_group_id="grp.deeper")
    assert [t["task_id"] for t in nested["task_instances"]] == ["grp.deeper.deepest"]
    assert client.get(one_run, params={"task_group_id": "nope"}).status_code == 404
    assert tasks(operator_name_pattern="bash") == {"talk"}
    assert tasks(operator_name_prefix_pattern="Bash") == {"talk"}
    assert tasks(dag_id_prefix_pattern="pipe|fail") == {
        "extract",
        "load",
        "talk",
        "explode",
        "after",
    }
    assert tasks(task_display_name_prefix_pattern="grp.") == {"grp.inside", "grp.deeper.deepest"}
    assert tasks(run_id_prefix_pattern="manual__") == everything
    assert tasks(run_id_prefix_pattern="scheduled__") == set()
    assert tasks(version_number=[1]) == everything
    assert tasks(version_number=[3]) == set()
    assert tasks(executor=["CeleryExecutor"]) == set()
    assert tasks(pool_name_pattern="DEFAULT") == everything
    assert tasks(queue_name_pattern="~") == everything
    assert tasks(queue_name_pattern="nothing") == set()


def test_run_filters_split_prefixes_versions_and_what_runs_lack(world: World) -> None:
    client = world.client("viewer")
    every = _run_ids(_get(client, RUNS, limit=100))
    assert len(every) == 4
    by_dag = _get(client, RUNS, dag_id_prefix_pattern="fa", limit=100)
    assert {r["dag_id"] for r in by_dag["dag_runs"]} == {"fan", "failing"}
    assert _get(client, RUNS, dag_id_pattern="PIPE|fan")["total_entries"] == 3
    assert _run_ids(_get(client, RUNS, run_id_prefix_pattern="manual__", limit=100)) == every
    assert _get(client, RUNS, run_id_prefix_pattern="backfill__")["total_entries"] == 0
    assert _get(client, RUNS, dag_version=[1])["total_entries"] == 4
    assert _get(client, RUNS, dag_version=[2])["total_entries"] == 0
    assert _get(client, RUNS, triggering_user_name_prefix_pattern="~")["total_entries"] == 0
    for name in ("bundle_version", "partition_key_pattern", "partition_key_prefix_pattern"):
        assert _get(client, RUNS, **{name: "x"})["total_entries"] == 0, name
    assert _get(client, RUNS, consuming_asset_pattern="orders")["total_entries"] == 0
    for path in (RUNS, "/api/v2/dags/fan/dagRuns"):
        answer = client.get(path, params={"partition_date_gte": "2026-01-01"})
        assert answer.status_code == 400 and "partition" in answer.text


def test_dag_list_filters_split_errors_runs_bundles_and_assets(world: World) -> None:
    client = world.client("viewer")

    def dags(**params: Any) -> set[str]:
        return _dag_ids(_get(client, "/api/v2/dags", **params))

    every = dags()
    assert {"fan", "pipeline", "failing", "watcher", "gone_bad"} <= every
    assert dags(has_import_errors=True) == {"gone_bad"}
    assert dags(has_import_errors=False) == every - {"gone_bad"}
    assert dags(dag_run_state="failed") == {"failing"}
    assert dags(dag_run_state="success") == {"pipeline", "fan"}  # total runs all_done
    assert dags(dag_run_state="running") == set()
    # A list, as Airflow's: a DAG with a run in any of the states (not only the last one).
    assert dags(dag_run_state=["failed", "success"]) == {"failing", "pipeline", "fan"}
    assert dags(dag_run_state=["running", "failed"]) == {"failing"}
    between = world.run_ids["between"]
    assert dags(dag_run_start_date_gte=between) == {"fan"}
    assert dags(dag_run_end_date_lt=between) == {"pipeline", "failing"}
    assert dags(bundle_name="dags-folder") == every
    assert dags(bundle_name="other") == set()
    assert dags(bundle_version="v1") == set()
    assert dags(is_favorite=True) == set()
    assert dags(is_favorite=False) == every
    assert dags(timetable_type=["AssetTriggeredTimetable"]) == {"watcher"}
    assert "watcher" not in dags(timetable_type=["NullTimetable"])
    assert dags(has_asset_schedule=True) == {"watcher"}
    assert dags(has_asset_schedule=False) == every - {"watcher"}
    assert dags(asset_dependency="BUCKET/ord") == {"watcher"}
    assert dags(asset_dependency="nothing") == set()
    assert dags(dag_display_name_prefix_pattern="pipe") == {"pipeline"}


def test_a_note_is_a_change_that_updated_at_finds(world: World) -> None:
    """Last in the module: it changes a run."""
    client = world.client("op")
    since = datetime.now(UTC).isoformat()
    run = world.run_ids["pipeline"]
    assert _get(client, RUNS, updated_at_gte=since)["total_entries"] == 0
    noted = client.patch(f"/api/v2/dags/pipeline/dagRuns/{run}", json={"note": "looked at"})
    assert noted.status_code == 200, noted.text
    assert _run_ids(_get(client, RUNS, updated_at_gte=since)) == [run]
    marked = client.patch(
        f"/api/v2/dags/pipeline/dagRuns/{run}/taskInstances/talk", json={"note": "fine"}
    )
    assert marked.status_code == 200, marked.text
    assert _keys(_get(client, TIS, updated_at_gte=since)) == [(run, "talk", -1)]


def test_consuming_asset_pattern_finds_runs_the_assets_triggered(world: World) -> None:
    """After the note's test: it adds a run."""
    with world.store.write() as conn:
        version, structure = runs.latest_version(conn, "watcher")
        when = datetime(2026, 1, 1, tzinfo=UTC)
        made = runs.create_run(
            conn,
            dag_id="watcher",
            version_hash=version,
            structure=structure,
            run_type="dataset_triggered",
            logical_date=when,
            interval=(when, when),
            created_by="scheduler",
        )
    assert made is not None
    client = world.client("viewer")
    for text in ("orders", "BUCKET/Ord"):
        found = _get(client, RUNS, consuming_asset_pattern=text)
        assert [(r["dag_id"], r["run_type"]) for r in found["dag_runs"]] == [
            ("watcher", "asset_triggered")
        ], text
    assert _get(client, RUNS, consuming_asset_pattern="lake")["total_entries"] == 0
    # Airflow's name of the run type, Conveyor's stored one: the store filters by the latter.
    typed = _get(client, RUNS, run_type=["asset_triggered"])
    assert [(r["dag_id"], r["run_type"]) for r in typed["dag_runs"]] == [
        ("watcher", "asset_triggered")
    ]
    listed = client.post("/api/v2/dags/~/dagRuns/list", json={"dag_ids": ["watcher", "fan"]})
    assert listed.status_code == 200, listed.text
    assert {r["dag_id"] for r in listed.json()["dag_runs"]} == {"watcher", "fan"}
