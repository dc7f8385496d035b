"""``Param`` through the REST API and the web trigger form: conf that breaks a param's schema
is refused with a 422 naming the key, and the form shows each param's type, description and
constraints (both backends)."""

from __future__ import annotations

from api_helpers import World, world_fixture_of

from conveyor.loading.processor import DagFileProcessor
from shared_dags import PARAMS_DAG

world = world_fixture_of({"typed.py": PARAMS_DAG})


def test_api_refuses_conf_that_breaks_a_param_and_names_the_key(world: World) -> None:
    client = world.client("op")
    for conf, key, words in [
        ({"n": 1.5}, "conf.n", "not of type 'integer'"),
        ({"n": 0}, "conf.n", "less than the minimum of 1"),
        ({"mode": "medium"}, "conf.mode", "is not one of"),
        ({"name": "much-too-long"}, "conf.name", "too long"),
        ({"plain": "text"}, "conf.plain", "expects number"),
    ]:
        response = client.post("/api/v1/dags/typed/runs", json={"conf": conf})
        assert response.status_code == 422, (conf, response.text)
        detail = response.json()["detail"]
        assert detail.startswith(key) and words in detail, detail
    ok = client.post("/api/v1/dags/typed/runs", json={"conf": {"n": 7, "mode": "slow"}})
    assert ok.status_code == 201, ok.text


def test_dag_detail_and_trigger_form_show_each_param_with_type_and_description(
    world: World,
) -> None:
    client = world.client("op")
    params = {p["name"]: p for p in client.get("/api/v1/dags/typed").json()["params"]}
    assert params["n"]["type"] == "integer" and params["n"]["default"] == 5
    assert params["n"]["description"] == "How many rows to load"
    assert params["n"]["param_schema"] == {"type": "integer", "minimum": 1}
    assert params["plain"]["type"] == "number" and params["plain"]["param_schema"] is None
    page = client.get("/dags/typed/trigger")
    assert page.status_code == 200
    html = page.text
    assert 'data-param="n"' in html and 'data-kind="integer"' in html
    assert "How many rows to load" in html
    assert "minimum 1" in html and "enum [&#39;fast&#39;, &#39;slow&#39;]" in html


LABELS_DAG = """
from conveyor import DAG, EmptyOperator, Label

with DAG("labelled"):
    check = EmptyOperator(task_id="check")
    check >> Label("rows found") >> EmptyOperator(task_id="load")
    check >> EmptyOperator(task_id="plain")
"""


def test_edge_labels_reach_the_api_and_the_graph_layout(world: World) -> None:
    (world.tmp / "dags" / "labelled.py").write_text(LABELS_DAG)
    DagFileProcessor(world.store, world.tmp / "dags", timeout=30, scan_every=1).sync()
    client = world.client("viewer")
    tasks = {t["task_id"]: t for t in client.get("/api/v1/dags/labelled").json()["tasks"]}
    assert tasks["load"]["upstream_labels"] == {"check": "rows found"}
    assert tasks["plain"]["upstream_labels"] == {}
    layout = client.get("/dags/labelled/graph/layout").json()
    labels = {(e["source"], e["target"]): e.get("label") for e in layout["edges"]}
    assert labels == {("check", "load"): "rows found", ("check", "plain"): None}
