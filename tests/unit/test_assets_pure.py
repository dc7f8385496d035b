"""Airflow 3's assets as DAG files write them: names under Airflow's paths, ``&`` / ``|``
conditions and their stored form, ``@asset`` / ``@asset.multi`` DAGs, ``outlet_events`` and
``Metadata``, and the errors for what cannot work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conveyor.exceptions import DagDefinitionError, TaskError
from conveyor.loading.serialize import serialize_task
from conveyor.model.assets import Asset, Metadata, OutletEvents, drain_metadata
from conveyor.model.context import DagContext
from conveyor.model.datasets import AssetAlias, Dataset
from conveyor.model.schedules import DatasetSchedule, deserialize_schedule


def test_asset_names_import_from_airflows_paths(airflow_hook: None) -> None:
    from airflow.assets import AssetAlias as A1
    from airflow.datasets import DatasetAlias, DatasetAll, DatasetAny
    from airflow.datasets.metadata import Metadata as M2
    from airflow.sdk import Asset as S
    from airflow.sdk import AssetAlias as A2
    from airflow.sdk import AssetAll, AssetAny, asset
    from airflow.sdk import Metadata as M1
    from airflow.sdk.definitions.asset import Asset as D
    from airflow.sdk.definitions.asset.decorators import asset as asset2
    from airflow.sdk.definitions.asset.metadata import Metadata as M3

    assert S is D is Asset and A1 is A2 is DatasetAlias is AssetAlias
    assert M1 is M2 is M3 is Metadata and asset is asset2
    assert AssetAll is DatasetAll and AssetAny is DatasetAny


def test_an_asset_is_its_uri_else_its_name_and_ref_finds_it_by_name() -> None:
    orders = Asset(name="orders_unit", uri="s3://b/orders")
    assert orders == Dataset("s3://b/orders") and hash(orders) == hash(Dataset("s3://b/orders"))
    assert orders.name == "orders_unit" and Asset("plain").uri == "plain"
    assert Asset.ref(name="orders_unit").uri == "s3://b/orders"
    assert Asset.ref(name="never_made").uri == "never_made"
    with pytest.raises(DagDefinitionError, match="AssetAlias"):
        Dataset("airflow://asset-alias/x")


def test_conditions_decide_and_survive_their_stored_form() -> None:
    a, b, c = Asset("a"), Asset("b"), AssetAlias("c")
    schedule = DatasetSchedule((a | b) & c)
    assert schedule.uris == ["a", "b", "airflow://asset-alias/c"]
    assert not schedule.ready({"a"}) and schedule.ready({"b", "airflow://asset-alias/c"})
    again = deserialize_schedule(schedule.serialize())
    assert isinstance(again, DatasetSchedule) and again.condition == schedule.condition
    assert "(a | b) & alias c" in schedule.description
    plain = DatasetSchedule([a, b])  # a list: all of them, stored as before
    assert "condition" not in plain.serialize() and not plain.ready({"a"})
    assert DatasetSchedule(a).serialize() == {"type": "datasets", "uris": ["a"], "timezone": "UTC"}


def test_outlet_events_keep_declared_outlets_only_and_metadata_sets_extras() -> None:
    orders, alias, other = Asset("s3://o"), AssetAlias("daily"), Asset("s3://other")
    events = OutletEvents()
    events[orders].extra = {"rows": 1}
    events[other].extra = {"ignored": True}  # not an outlet
    events[orders].add(other)  # add() on an asset means nothing, as in Airflow

    def produce() -> Iterator[Metadata]:
        yield Metadata(orders, {"more": 2})
        yield Metadata(Asset("s3://day/1"), {"day": 1}, alias=alias)
        return "value"  # type: ignore[misc]

    assert drain_metadata(produce(), events) == "value"
    emitted = events.emitted([orders, alias])
    assert emitted.extras == {"s3://o": {"rows": 1, "more": 2}}
    assert emitted.through_aliases == [("daily", "s3://day/1", {"day": 1})]
    with pytest.raises(TaskError, match="expected an Asset"):
        events[42]


def test_asset_functions_become_one_task_dags(airflow_hook: None) -> None:
    from airflow.sdk import Asset as SdkAsset
    from airflow.sdk import asset

    @asset(schedule=None, uri="s3://lake/raw")
    def raw() -> None: ...

    @asset(schedule=raw, group="reports")
    def report(raw: object, self: object, context: object) -> None: ...

    @asset.multi(schedule=None, outlets=[SdkAsset("x1"), SdkAsset("x2")])
    def both() -> None: ...

    dags = {d.dag_id: d for d in DagContext.created}
    assert raw.uri == "s3://lake/raw" and raw.name == "raw"
    task = dags["report"].task_dict["report"]
    assert task.outlets == [Asset("report")] and task.inlets == [Asset("s3://lake/raw")]
    assert isinstance(dags["report"].schedule, DatasetSchedule)
    assert dags["report"].schedule.uris == ["s3://lake/raw"]
    assert serialize_task(dags["both"].task_dict["both"])["outlets"] == ["x1", "x2"]
    assert both.schedule_keys and list(both.schedule_keys()) == ["x1", "x2"]

    with pytest.raises(DagDefinitionError, match=r"\*\*kwargs"):

        @asset(schedule=None)
        def wild(**kwargs: object) -> None: ...

    with pytest.raises(DagDefinitionError, match="needs outlets"):
        asset.multi(schedule=None, outlets=[])
