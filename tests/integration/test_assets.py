"""Airflow 3's assets end to end, through the real scheduler, on SQLite and PostgreSQL: DAG
files in Airflow's spelling with ``@asset``, aliases, ``outlet_events`` extras, ``yield
Metadata(...)``, ``inlet_events`` and ``triggering_asset_events``, and ``&`` / ``|``."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import run_scheduler
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store import datasets
from conveyor.store.engine import Store
from conveyor.store.mapping import xcom_value
from conveyor.store.tables import dag_run
from conveyor.web import accounts
from conveyor.web.app import create_app
from run_env import Env

ASSETS = """
from airflow.sdk import DAG, Asset, Metadata, asset, task


@asset(schedule=None)
def raw_orders(self, context):
    context["outlet_events"][self].extra = {"rows": 3}
    return "raw"


@asset(schedule=raw_orders, tags=["assets"])
def order_totals(raw_orders, context):
    inlet = context["inlet_events"][raw_orders]
    triggering = context["triggering_asset_events"][raw_orders]
    return {
        "uri": raw_orders.uri,
        "inlet_extras": [e.extra for e in inlet],
        "triggering_extras": [e.extra for e in triggering],
        "source": [triggering[0].source_dag_id, triggering[0].source_task_id],
    }


SHIPPED = Asset(name="shipped", uri="s3://shop/shipped")

with DAG("ship", schedule=None):
    @task(outlets=[SHIPPED])
    def ship():
        yield Metadata(SHIPPED, {"boxes": 2})
        return "done"
    ship()

with DAG("shipped_or_totals", schedule=SHIPPED | Asset.ref(name="order_totals")):
    @task
    def which(triggering_asset_events=None):
        return sorted(a.uri for a in triggering_asset_events)
    which()

with DAG("shipped_and_raw", schedule=SHIPPED & raw_orders):
    @task
    def both(triggering_asset_events=None):
        return sorted(a.uri for a in triggering_asset_events)
    both()
"""

ALIASES = """
from airflow.sdk import DAG, Asset, AssetAlias, task
from airflow.providers.standard.operators.bash import BashOperator

CLASSIC = Asset("s3://classic")

with DAG("classic", schedule=None):
    BashOperator(
        task_id="echo",
        bash_command="echo hi",
        outlets=[CLASSIC],
        post_execute=lambda context, result: context["outlet_events"][CLASSIC].extra.update(
            said=result
        ),
    )

EXPORTS = AssetAlias("daily-export")
FILE = Asset("s3://exports/2024-01-01")

with DAG("exporter", schedule=None):
    @task(outlets=[EXPORTS])
    def export(outlet_events=None):
        outlet_events[EXPORTS].add(FILE, extra={"day": "2024-01-01"})
    export()

with DAG("quiet_exporter", schedule=None):
    @task(outlets=[EXPORTS])
    def nothing():
        return None
    nothing()

with DAG("on_file", schedule=[FILE]):
    @task
    def read(triggering_asset_events=None):
        events = triggering_asset_events[FILE]
        return [events[0].extra, [a.name for a in events[0].source_aliases]]
    read()

with DAG("on_alias", schedule=EXPORTS):
    @task
    def seen(triggering_asset_events=None):
        return [[e.uri, e.extra] for e in triggering_asset_events[EXPORTS]]
    seen()
"""


@pytest.fixture
def env(env: Env) -> Env:
    """The shared ``env`` with this module's DAG files written and parsed."""
    env.write_dag("assets.py", ASSETS, header=False)
    env.write_dag("aliases.py", ALIASES, header=False)
    env.sync()
    return env


def finished_runs(env: Env, dag_id: str) -> list[Any]:
    with env.store.read() as conn:
        found = conn.execute(
            select(dag_run).where(dag_run.c.dag_id == dag_id).order_by(dag_run.c.id)
        )
        return [r for r in found if RunState(r.state) in RUN_FINISHED]


def wait_for(env: Env, counts: dict[str, int]) -> None:
    run_scheduler(
        env.settings(),
        env.store,
        lambda: all(len(finished_runs(env, d)) >= n for d, n in counts.items()),
        limit=40,
        what=f"finished runs {counts}",
    )


def result(env: Env, dag_id: str, task_id: str, index: int = -1) -> Any:
    run = finished_runs(env, dag_id)[index]
    assert run.state == "success", (dag_id, run.state)
    with env.store.read() as conn:
        return xcom_value(conn, run.id, task_id, "return_value")


def test_an_asset_function_runs_the_asset_scheduled_on_it_with_its_extra(env: Env) -> None:
    env.trigger("raw_orders")
    wait_for(env, {"order_totals": 1, "shipped_or_totals": 1})
    assert result(env, "order_totals", "order_totals") == {
        "uri": "raw_orders",
        "inlet_extras": [{"rows": 3}],
        "triggering_extras": [{"rows": 3}],
        "source": ["raw_orders", "raw_orders"],
    }
    # order_totals is an asset too: its update ran the DAG on "shipped | order_totals".
    assert result(env, "shipped_or_totals", "which") == ["order_totals"]
    assert finished_runs(env, "shipped_and_raw") == []  # raw_orders alone is not enough
    with env.store.read() as conn:
        listed = {d.uri: d for d in datasets.list_datasets(conn)}
    last = listed["raw_orders"].last_event
    assert last is not None and last["extra"] == {"rows": 3}
    assert listed["raw_orders"].consumers == ["order_totals", "shipped_and_raw"]

    env.trigger("ship")  # yields Metadata: its event's extra; completes "shipped & raw"
    wait_for(env, {"shipped_or_totals": 2, "shipped_and_raw": 1})
    assert result(env, "ship", "ship") == "done"
    assert result(env, "shipped_or_totals", "which") == ["s3://shop/shipped"]
    assert result(env, "shipped_and_raw", "both") == ["raw_orders", "s3://shop/shipped"]
    with env.store.read() as conn:
        shipped = {d.uri: d for d in datasets.list_datasets(conn)}["s3://shop/shipped"]
    assert shipped.last_event is not None and shipped.last_event["extra"] == {"boxes": 2}


def test_an_alias_resolving_to_an_asset_runs_the_dags_on_the_asset_and_on_the_alias(
    env: Env,
) -> None:
    env.trigger("quiet_exporter")  # adds nothing to the alias: nothing runs
    env.trigger("exporter")
    env.trigger("classic")  # a classic operator's post_execute sets the extra
    wait_for(env, {"quiet_exporter": 1, "exporter": 1, "on_file": 1, "on_alias": 1, "classic": 1})
    assert result(env, "on_file", "read") == [{"day": "2024-01-01"}, ["daily-export"]]
    assert result(env, "on_alias", "seen") == [["s3://exports/2024-01-01", {"day": "2024-01-01"}]]
    env.run_for(0.5)
    assert len(finished_runs(env, "on_alias")) == 1  # the quiet run made none

    accounts.create_user(env.store, "viewer", "viewer", "viewer-secret")
    token = accounts.create_token(env.store, "viewer", "test")
    app = create_app(env.settings(), Store(env.store.url))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        listed = client.get("/api/v1/datasets")
    app.state.store.dispose()
    assert listed.status_code == 200, listed.text
    body = listed.json()
    by_uri = {d["uri"]: d for d in body["datasets"]}
    assert not any(uri.startswith("airflow://") for uri in by_uri)  # the alias is no dataset
    event = by_uri["s3://exports/2024-01-01"]["last_event"]
    assert event["extra"] == {"day": "2024-01-01"} and event["source_alias"] == "daily-export"
    assert by_uri["s3://exports/2024-01-01"]["consumers"] == ["on_file"]
    assert by_uri["s3://classic"]["last_event"]["extra"] == {"said": "hi"}
