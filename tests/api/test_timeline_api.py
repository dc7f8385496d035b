"""The timeline and assets reads over the API, on runs the real scheduler executed:

- a run's Gantt data: a bar per try (a failed then retried task has two, in order, with
  their own times), mapped instances each with their bars;
- landing times and durations of a DAG's runs; a calendar counting runs by day and state;
- assets with their producers, consumers and events (extra, source run), and the graph of
  links between DAGs (assets, TriggerDagRunOperator, ExternalTaskSensor);
- unknown ids are a 404 with the reason, bad bounds a 422, no login a 401; the pages render.
"""

from __future__ import annotations

import json
import re
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from api_helpers import World, make_world, module_world

from shared_dags import timeline_dags

ORDERS = "s3://timeline/orders"

TIMELINE_DAGS = timeline_dags("tl", ORDERS, rows=3)


def _build(tmp: Path, url: str) -> World:
    dags = tmp / "dags"
    dags.mkdir(parents=True)
    (dags / "timeline_dags.py").write_text(textwrap.dedent(TIMELINE_DAGS))
    world = make_world(tmp, url, execute=("failing",))
    pks = {dag_id: world.trigger(dag_id) for dag_id in ("tl_flaky", "tl_producer")}
    world.run(*pks.values())
    world.run_ids.update({dag_id: world.run_id(pk) for dag_id, pk in pks.items()})
    return world


#: Executed runs: tl_flaky (a retried task, a mapped one), tl_producer, failing.
timeline_world_fixture = module_world("timeline_world", _build)


def _get(world: World, path: str, role: str | None = "viewer", **params: Any) -> Any:
    return world.client(role).get(f"/api/v1/{path}", params=params)


def test_the_gantt_has_a_bar_per_try_and_per_mapped_instance(timeline_world: World) -> None:
    run_id = timeline_world.run_ids["tl_flaky"]
    response = _get(timeline_world, f"dags/tl_flaky/runs/{run_id}/gantt")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "success"
    flaky = [b for b in body["bars"] if b["task_id"] == "flaky"]
    assert [(b["try_number"], b["state"]) for b in flaky] == [(1, "up_for_retry"), (2, "success")]
    for bar in flaky:
        assert bar["start_date"] and bar["end_date"]
        assert bar["start_date"] <= bar["end_date"]
    # The retry started after the first try ended; only the current try knows its queue time.
    assert flaky[0]["end_date"] <= flaky[1]["start_date"]
    assert flaky[0]["queued_at"] is None
    assert flaky[1]["queued_at"] is not None and flaky[1]["queued_at"] <= flaky[1]["start_date"]
    each = [
        (b["map_index"], b["try_number"], b["state"])
        for b in body["bars"]
        if b["task_id"] == "each"
    ]
    assert each == [(0, 1, "success"), (1, 1, "success")]


def test_the_gantt_refuses_unknown_runs_and_strangers(timeline_world: World) -> None:
    missing = _get(timeline_world, "dags/tl_flaky/runs/no_such_run/gantt")
    assert missing.status_code == 404
    assert "no_such_run" in missing.json()["detail"]
    assert _get(timeline_world, "dags/no_such_dag/runs/x/gantt").status_code == 404
    run_id = timeline_world.run_ids["tl_flaky"]
    assert _get(timeline_world, f"dags/tl_flaky/runs/{run_id}/gantt", None).status_code == 401


def test_landing_times_measure_from_the_due_time_to_the_end(timeline_world: World) -> None:
    body = _get(timeline_world, "dags/tl_flaky/landing-times").json()
    [run] = body["runs"]
    assert run["run_id"] == timeline_world.run_ids["tl_flaky"]
    # A manual run has no data interval: it is due at its logical date.
    assert run["due_at"] == run["logical_date"]
    ended = datetime.fromisoformat(run["end_date"])
    due = datetime.fromisoformat(run["due_at"])
    assert run["landing_seconds"] == pytest.approx((ended - due).total_seconds(), abs=0.01)
    assert run["landing_seconds"] >= run["duration_seconds"] > 0
    assert _get(timeline_world, "dags/no_such_dag/landing-times").status_code == 404
    refused = _get(timeline_world, "dags/tl_flaky/landing-times", limit=0)
    assert refused.status_code == 422


def test_the_calendar_counts_runs_by_day_and_colours_a_failed_day_failed(
    timeline_world: World,
) -> None:
    body = _get(timeline_world, "dags/failing/calendar").json()
    [day] = body["days"]
    assert day["state"] == "failed" and day["counts"] == {"failed": 1}
    assert body["years"] == [body["year"]]
    assert day["date"].startswith(str(body["year"]))
    good = _get(timeline_world, "dags/tl_flaky/calendar").json()
    assert [d["state"] for d in good["days"]] == ["success"]
    empty = _get(timeline_world, "dags/tl_flaky/calendar", year=2001).json()
    assert empty["days"] == [] and empty["year"] == 2001
    assert _get(timeline_world, "dags/tl_flaky/calendar", year=0).status_code == 422
    assert _get(timeline_world, "dags/no_such_dag/calendar").status_code == 404


def test_assets_list_producers_consumers_and_the_last_event(timeline_world: World) -> None:
    body = _get(timeline_world, "assets").json()
    orders = next(a for a in body["assets"] if a["uri"] == ORDERS)
    assert orders["producers"] == [{"dag_id": "tl_producer", "task_id": "make"}]
    assert orders["consumers"] == ["tl_consumer"]
    assert orders["events"] == 1
    assert orders["last_event"]["source_run_id"] == timeline_world.run_ids["tl_producer"]
    assert orders["last_event"]["extra"] == {"rows": 3}


def test_an_asset_lists_its_events_with_extra_and_source_run(timeline_world: World) -> None:
    body = _get(timeline_world, "assets/detail", uri=ORDERS).json()
    assert body["uri"] == ORDERS
    [event] = body["recent_events"]
    assert event["source_dag_id"] == "tl_producer"
    assert event["source_run_id"] == timeline_world.run_ids["tl_producer"]
    assert event["source_task_id"] == "make"
    assert event["extra"] == {"rows": 3}
    missing = _get(timeline_world, "assets/detail", uri="s3://nowhere")
    assert missing.status_code == 404 and "s3://nowhere" in missing.json()["detail"]
    assert _get(timeline_world, "assets/detail").status_code == 422
    assert _get(timeline_world, "assets", None).status_code == 401


def test_dag_dependencies_join_assets_triggers_and_sensors(timeline_world: World) -> None:
    body = _get(timeline_world, "dag-dependencies").json()
    edges = {(e["source"], e["target"], e["kind"]) for e in body["edges"]}
    asset = f"asset:{ORDERS}"
    assert edges == {
        ("tl_producer", asset, "asset"),
        (asset, "tl_consumer", "asset"),
        ("tl_controller", "tl_consumer", "trigger"),
        ("tl_producer", "tl_controller", "sensor"),
    }
    kinds = {n["id"]: n["kind"] for n in body["nodes"]}
    assert kinds == {
        "tl_producer": "dag",
        "tl_consumer": "dag",
        "tl_controller": "dag",
        asset: "asset",
    }


def test_the_pages_draw_the_same_data(timeline_world: World) -> None:
    client = timeline_world.client("viewer")
    run_id = timeline_world.run_ids["tl_flaky"]
    gantt = client.get("/dags/tl_flaky/gantt", params={"run": run_id})
    assert gantt.status_code == 200
    assert gantt.text.count('class="gantt-row" data-task-id="flaky"') == 2
    # The page's script compares the drawn data with the API's answer to know when to redraw.
    drawn = re.search(r'id="gantt-data">(.*?)</script>', gantt.text)
    assert drawn is not None
    served = client.get(f"/api/v1/dags/tl_flaky/runs/{run_id}/gantt").json()
    assert json.dumps(json.loads(drawn.group(1))) == json.dumps(served)
    assert client.get("/dags/tl_flaky/gantt", params={"run": "nope"}).status_code == 404
    moved = client.get(f"/dags/tl_flaky/runs/{run_id}/gantt", follow_redirects=False)
    assert moved.status_code == 303
    assert moved.headers["location"].endswith(f"/dags/tl_flaky/gantt?{urlencode({'run': run_id})}")
    calendar = client.get("/dags/failing/calendar", params={"year": "not a year"})
    assert calendar.status_code == 200 and 'class="day"' in calendar.text
    assert 'data-state="failed"' in calendar.text
    # The legend lists the day's states as the lifecycle orders them, the most telling first.
    legend = re.findall(r'<i class="sq st-([a-z_]+)"></i>', calendar.text)
    assert ["failed", "running", "queued", "success", "none"] in [
        legend[i : i + 5] for i in range(len(legend))
    ]
    landing = client.get("/dags/tl_flaky/landing-times")
    assert landing.status_code == 200 and f'data-run-id="{run_id}"' in landing.text
    assets = client.get("/assets")
    assert assets.status_code == 200 and ORDERS in assets.text
    assert client.get("/assets/detail", params={"uri": "s3://nowhere"}).status_code == 404
