"""Per-DAG access, on every route of the API and the UI.

Two DAGs share their task ids; ``team_flow`` grants the named role ``team_a`` read and edit
in its ``access_control``, ``ledger_zq`` grants another role. Alice holds ``team_a`` only.
The walks enumerate the app's routes and those of ``/api/v2`` and of the Airflow 2 routes
beside ``/api/v1`` (asked with a JWT and with basic auth): a route added later is walked
too. They fill their path parameters from the store and ask each one as Alice: about her
DAG, about the other DAG, and about a DAG that does not exist. No answer may show the other
DAG's id; an answer about the other DAG must be the answer about a DAG that does not exist.
"""

from __future__ import annotations

import base64
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import PASSWORDS, World, login, module_world
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount

from conftest import make_settings
from conveyor.loading.processor import DagFileProcessor
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run
from conveyor.web import accounts, roles
from conveyor.web.app import create_app
from conveyor.web.ui.pages import DAG_TABS

MINE, HIDDEN, NOWHERE = "team_flow", "ledger_zq", "nodag_qx"

SOURCE = """
from datetime import datetime

from conveyor import DAG, Dataset, task

with DAG(
    "{dag_id}",
    access_control={{"{role}": {{"can_read", "can_edit"}}}},
    tags=["shared"],
    schedule={schedule},  # the hidden DAG's: for a backfill of it
    start_date=datetime(2025, 1, 1),
    catchup=False,
):
    @task(outlets=[Dataset("s3://lake/shared_rows")])  # an asset both DAGs make
    def extract():
        print("rows of {dag_id}")
        return {{"rows": 1}}

    @task
    def load(data):
        return data["rows"]

    load(extract())
"""

RANGE = {"from_date": "2025-01-01T00:00:00Z", "to_date": "2025-01-02T00:00:00Z"}

#: Not walked, with why: the Prometheus scrape (no login; figures per DAG are for the
#: operators' monitoring, kept off the users' network) and the static files.
NOT_WALKED = {"/metrics": "no login: the operators' scrape", "/static": "files"}


def build(tmp: Path, url: str) -> World:
    dags = tmp / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    (dags / "mine.py").write_text(
        textwrap.dedent(SOURCE.format(dag_id=MINE, role="team_a", schedule=None))
    )
    (dags / "hidden.py").write_text(
        textwrap.dedent(SOURCE.format(dag_id=HIDDEN, role="team_b", schedule='"@daily"'))
    )
    # An import error (the DAG safe mode looks for the words 'conveyor' and 'DAG').
    (dags / f"{HIDDEN}_broken.py").write_text(f"from conveyor import DAG\nDAG({HIDDEN!r}) +\n")
    settings = make_settings(tmp, dags, url, base_url="", api_basic_auth=True)
    store = Store(url)
    DagFileProcessor(store, dags, timeout=30, scan_every=1).sync()
    accounts.create_user(store, "admin", "admin", PASSWORDS["admin"])
    accounts.create_user(store, "viewer", "viewer", PASSWORDS["viewer"])
    accounts.create_user(store, "alice", "public", "alice-secret-1")
    accounts.create_user(store, "nora", "public", "nora-secret-12")
    for role in ("team_a", "team_b", "empty"):
        roles.create_role(store, role)
    accounts.set_roles(store, "alice", ["team_a"])
    accounts.set_roles(store, "nora", ["empty"])
    world = World(tmp, settings, store, create_app(settings, Store(url)))
    pks = {dag_id: world.trigger(dag_id) for dag_id in (MINE, HIDDEN)}
    world.run(*pks.values())
    world.run_ids = {dag_id: world.run_id(pk) for dag_id, pk in pks.items()}
    admin = _client(world, "admin", PASSWORDS["admin"])
    for paused in (True, False):  # audit entries that name the hidden DAG
        assert admin.patch(f"/api/v1/dags/{HIDDEN}", json={"is_paused": paused}).is_success
    backfill = admin.post("/api/v2/backfills", json={"dag_id": HIDDEN, **RANGE})
    assert backfill.status_code == 200, backfill.text  # a backfill of the hidden DAG
    return world


access_world = module_world("access_world", build)


def _client(world: World, username: str, password: str) -> TestClient:
    client = TestClient(world.app, base_url="http://testserver")
    world.clients.append(client)
    login(client, username, password)
    return client


@dataclass(frozen=True)
class Ask:
    method: str
    path: str  # the route's path, for the report
    url: str
    body: dict[str, Any] | None = None
    about: str | None = None  # the DAG id the request names (None: none)


def _versions(world: World) -> dict[str, str]:
    with world.store.read() as conn:
        return dict(conn.execute(select(dag.c.dag_id, dag.c.version_hash)).all())  # type: ignore[arg-type]


def _fill(path: str, dag_id: str, run_id: str, version: str) -> list[str]:
    values = {
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": "extract",
        "map_index": "0",
        "try_number": "1",
        "version": version,
        "other": version,
        "name": "team_a",
        "conn_id": "some_conn",
        "key": "some_key",
        "username": "alice",
        "token_id": "1",
    }
    filled = re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), m.group(0)), path)
    if "{tab}" in filled:
        return [filled.replace("{tab}", tab) for tab in DAG_TABS]
    return [filled]


def _bulk_body(path: str, dag_id: str, run_id: str) -> dict[str, Any] | None:
    if path.endswith("/task-instances/clear") or path.endswith("/task-instances/mark"):
        body: dict[str, Any] = {
            "task_instances": [{"dag_id": dag_id, "run_id": run_id, "task_id": "extract"}]
        }
    elif path.endswith("/runs/clear") or path.endswith("/runs/mark"):
        body = {"runs": [{"dag_id": dag_id, "run_id": run_id}]}
    else:
        return None
    if path.endswith("/mark"):
        body["state"] = "success"
    return body | {"dry_run": True}


WRITE_BODIES: dict[str, dict[str, Any]] = {
    "/api/v1/dags": {"is_paused": True},
    "/api/v1/dags/{dag_id}": {"is_paused": True},
    "/api/v1/dags/{dag_id}/runs": {"conf": {}},
    "/api/v1/dags/{dag_id}/runs/{run_id}/mark": {"state": "failed"},
    "/api/v1/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/mark": {"state": "failed"},
    "/api/v1/dags/{dag_id}/runs/{run_id}/note": {"note": "seen"},
    "/api/v1/dags/{dag_id}/backfills": {"start": "2026-01-01", "end": "2026-01-01"},
}


def _asks(world: World) -> tuple[list[Ask], set[tuple[str, str]]]:
    """Every request of the walk, reads first, writes next, deletions and logout last;
    and the (method, route) pairs they cover."""
    versions = _versions(world)
    runs = world.run_ids | {NOWHERE: world.run_ids[HIDDEN]}
    versions[NOWHERE] = versions[HIDDEN]
    asks: list[Ask] = []
    routes: set[tuple[str, str]] = set()
    for route in iter_route_contexts(world.app.routes):
        path = route.path
        if path in NOT_WALKED:
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            routes.add((method, path))
            body = WRITE_BODIES.get(path, {}) if method != "GET" else None
            if "{dag_id}" not in path:
                for dag_id in (MINE, HIDDEN, NOWHERE):
                    bulk = _bulk_body(path, dag_id, runs[dag_id])
                    if bulk is not None:
                        asks.append(Ask(method, path, path, bulk, about=dag_id))
                if _bulk_body(path, MINE, "x") is None:
                    url = _fill(path, MINE, runs[MINE], versions[MINE])[0]
                    asks.append(Ask(method, path, url, body))
                    if method == "GET" and "{" not in path:  # the lists' filters and search
                        query = "?dag_id_pattern=ledger&search=ledger&tag=shared&limit=50"
                        asks.append(Ask(method, path, url + query))
                continue
            for dag_id in (MINE, HIDDEN, NOWHERE):
                for url in _fill(path, dag_id, runs[dag_id], versions[dag_id]):
                    asks.append(Ask(method, path, url, body, about=dag_id))
    order = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
    # Signing out (/logout, /api/v2/auth/logout) ends the walker's session: last.
    asks.sort(key=lambda a: (a.path.endswith("/logout"), order[a.method]))  # stable otherwise
    return asks, routes


def _normalized(response: httpx.Response, dag_id: str) -> tuple[int, str]:
    """The answer about ``dag_id`` as the answer about the DAG that does not exist would
    read: the id swapped, the page's per-answer nonce left out."""
    text = response.text.replace(dag_id, NOWHERE)
    return response.status_code, re.sub(r'nonce="[^"]*"', 'nonce=""', text)


def _shown(response: httpx.Response) -> str:
    return response.text + " " + response.headers.get("location", "")


def _hidden_runs(world: World) -> list[tuple[str, str]]:
    """The hidden DAG's runs and their states: what Alice must not change."""
    with world.store.read() as conn:
        rows = conn.execute(
            select(dag_run.c.run_id, dag_run.c.state).where(dag_run.c.dag_id == HIDDEN)
        )
        return sorted((r.run_id, r.state) for r in rows)


@pytest.fixture(name="alice")
def alice_fixture(access_world: World) -> Iterator[TestClient]:
    yield _client(access_world, "alice", "alice-secret-1")


def test_a_named_role_reads_and_edits_its_dag(access_world: World, alice: TestClient) -> None:
    listed = alice.get("/api/v1/dags").json()
    assert [d["dag_id"] for d in listed["dags"]] == [MINE] and listed["total"] == 1
    runs = alice.get("/api/v1/runs").json()
    assert {r["dag_id"] for r in runs["runs"]} == {MINE} and runs["total"] == 1
    tis = alice.get("/api/v1/task-instances").json()
    assert {t["dag_id"] for t in tis["task_instances"]} == {MINE} and tis["total"] == 2
    assert alice.get("/api/v1/import-errors").json()["total"] == 0
    run_id = access_world.run_ids[MINE]
    log = alice.get(f"/api/v1/dags/{MINE}/runs/{run_id}/tasks/extract/tries/1/log/raw")
    assert log.status_code == 200 and f"rows of {MINE}" in log.text
    assert alice.patch(f"/api/v1/dags/{MINE}", json={"is_paused": False}).status_code == 200
    audit = alice.get("/api/v1/audit").json()  # the entries on her DAG only
    assert {e["dag_id"] for e in audit["entries"]} == {MINE} and audit["total"] >= 1
    audit_page = alice.get("/audit")
    assert audit_page.status_code == 200
    # The admin tabs she may see, and no other (Pools and Providers: anyone signed in).
    tabs = re.findall(r'<nav class="subnav" aria-label="Admin">(.*?)</nav>', audit_page.text, re.S)
    assert re.findall(r">([^<]+)</a>", tabs[0]) == ["Pools", "Providers"]
    assert alice.get("/api/v1/me").json()["roles"] == ["team_a"]
    assert 'id="nav-assets"' in alice.get("/").text  # the cluster's pages: of her DAGs


ASSET = "s3://lake/shared_rows"  # both DAGs' extract makes it


def _runs_in_a_day(page: str) -> int:
    found = re.search(r"Runs in the last 24 hours</h3><span class=\"muted\">(\d+)<", page)
    assert found, page[:2000]
    return int(found.group(1))


def test_a_named_role_sees_the_cluster_pages_of_its_dags_only(
    access_world: World, alice: TestClient
) -> None:
    """Home, workers and assets, and their API reads, are a named role's too, showing what
    belongs to its DAGs alone: the other DAG is named nowhere, its events are not counted."""
    admin = _client(access_world, "admin", PASSWORDS["admin"])
    for path in ("workers", "schedulers", "triggerers"):  # the processes name no DAG
        mine, all_ = alice.get(f"/api/v1/{path}"), admin.get(f"/api/v1/{path}")
        assert mine.status_code == 200 and mine.json() == all_.json(), path
    assert alice.get("/api/v1/scheduler-problems").status_code == 200
    assert alice.get(f"/api/v1/scheduler-problems?dag_id={HIDDEN}").json() == {"problems": []}

    every = {a["uri"]: a for a in admin.get("/api/v1/assets").json()["assets"]}[ASSET]
    assert len(every["producers"]) == 2  # both DAGs make it, and both did
    sources = [
        e["source_dag_id"]
        for e in admin.get("/api/v1/assets/detail", params={"uri": ASSET}).json()["recent_events"]
    ]
    assert HIDDEN in sources and sources.count(MINE) >= 1 and every["events"] == len(sources)
    (asset,) = alice.get("/api/v1/assets").json()["assets"]
    assert asset["uri"] == ASSET and asset["events"] == sources.count(MINE)
    assert asset["producers"] == [{"dag_id": MINE, "task_id": "extract"}]
    assert asset["last_event"]["source_dag_id"] == MINE
    detail = alice.get("/api/v1/assets/detail", params={"uri": ASSET}).json()
    assert [e["source_dag_id"] for e in detail["recent_events"]] == [MINE] * sources.count(MINE)
    graph = alice.get("/api/v1/dag-dependencies").json()
    assert {n["id"] for n in graph["nodes"]} == {MINE, f"asset:{ASSET}"}
    assert graph["edges"] == [{"source": MINE, "target": f"asset:{ASSET}", "kind": "asset"}]
    (dataset,) = alice.get("/api/v1/datasets").json()["datasets"]
    assert dataset["events"] == asset["events"]
    assert dataset["last_event"]["source_dag_id"] == MINE

    for page in (
        "/home",
        "/workers",
        "/assets",
        f"/assets/detail?uri={ASSET}",
        "/required-actions",
    ):
        shown = alice.get(page)
        assert shown.status_code == 200, (page, shown.text[:500])
        assert HIDDEN not in shown.text, page  # nor its import error, runs or events
    assert MINE in alice.get("/assets").text
    # Her DAG's run alone is counted; the admin counts the other DAG's (and its backfill's).
    assert _runs_in_a_day(alice.get("/home").text) == 1
    assert _runs_in_a_day(admin.get("/home").text) > 1


def test_the_cluster_pages_refuse_a_user_who_may_read_no_dag(access_world: World) -> None:
    nora = _client(access_world, "nora", "nora-secret-12")
    assert nora.get("/api/v1/assets").json() == {"assets": []}  # a role, granting nothing
    assert nora.get("/home").status_code == 200 and MINE not in nora.get("/home").text
    accounts.set_roles(access_world.store, "nora", [])
    try:
        bare = _client(access_world, "nora", "nora-secret-12")  # built-in 'public' alone
        cluster = ("/home", "/workers", "/assets", "/required-actions")
        for path in (*cluster, "/api/v1/assets", "/api/v1/workers"):
            refused = bare.get(path)
            assert refused.status_code == 403, (path, refused.status_code)
    finally:
        accounts.set_roles(access_world.store, "nora", ["empty"])


def test_a_viewer_with_a_named_role_edits_only_that_roles_dags(access_world: World) -> None:
    accounts.set_roles(access_world.store, "viewer", ["viewer", "team_a"])
    try:
        client = _client(access_world, "viewer", PASSWORDS["viewer"])
        assert client.get("/api/v1/dags").json()["total"] == 2  # viewer: reads every DAG
        assert client.patch(f"/api/v1/dags/{MINE}", json={"is_paused": False}).is_success
        refused = client.patch(f"/api/v1/dags/{HIDDEN}", json={"is_paused": True})
        assert refused.status_code == 403 and "may read DAG" in refused.json()["detail"]
    finally:
        accounts.set_roles(access_world.store, "viewer", ["viewer"])


def test_a_named_role_without_dag_permissions_sees_nothing(access_world: World) -> None:
    nora = _client(access_world, "nora", "nora-secret-12")
    assert nora.get("/api/v1/dags").json()["total"] == 0
    assert nora.get("/api/v1/runs").json()["total"] == 0
    assert nora.get("/api/v1/task-instances").json()["total"] == 0
    assert nora.get(f"/api/v1/dags/{MINE}").status_code == 404
    page = nora.get("/")
    assert page.status_code == 200 and MINE not in page.text and HIDDEN not in page.text


def test_roles_over_the_api(access_world: World) -> None:
    admin = _client(access_world, "admin", PASSWORDS["admin"])
    assert admin.post("/api/v1/roles", json={"name": "auditors"}).status_code == 201
    assert admin.post("/api/v1/roles", json={"name": "auditors"}).status_code == 409
    assert admin.post("/api/v1/roles", json={"name": "admin"}).status_code == 422
    granted = admin.post(
        "/api/v1/roles/auditors/permissions", json={"action": "can_read", "resource": "DAGs"}
    )
    assert granted.json()["permissions"] == [{"action": "can_read", "resource": "DAGs"}]
    bad = admin.post(
        "/api/v1/roles/auditors/permissions", json={"action": "can_fly", "resource": "DAGs"}
    )
    assert bad.status_code == 422 and "can_fly" in bad.json()["detail"]
    held = admin.put("/api/v1/users/nora/roles", json={"roles": ["auditors"]})
    assert held.json() == {"username": "nora", "roles": ["auditors"]}
    nora = _client(access_world, "nora", "nora-secret-12")
    assert nora.get("/api/v1/dags").json()["total"] == 2  # can_read on DAGs: every DAG
    assert nora.patch(f"/api/v1/dags/{MINE}", json={"is_paused": True}).status_code == 403
    unknown = admin.put("/api/v1/users/nora/roles", json={"roles": ["ghosts"]})
    assert unknown.status_code == 422 and "ghosts" in unknown.json()["detail"]
    assert admin.delete("/api/v1/roles/auditors").status_code == 204
    assert nora.get("/api/v1/dags").status_code == 403  # the role went, and its rights
    accounts.set_roles(access_world.store, "nora", ["empty"])
    assert admin.get("/api/v1/roles/auditors").status_code == 404
    listed = admin.get("/api/v1/users").json()["users"]
    assert next(u for u in listed if u["username"] == "alice")["roles"] == ["team_a"]
    assert alice_refused(access_world)


def alice_refused(world: World) -> bool:
    """Alice (no admin) may not manage roles."""
    alice = _client(world, "alice", "alice-secret-1")
    return alice.post("/api/v1/roles", json={"name": "mine"}).status_code == 403


def test_the_airflow_apis_give_a_named_role_its_dags_only(access_world: World) -> None:
    client = TestClient(access_world.app, base_url="http://testserver")
    access_world.clients.append(client)
    alice = _jwt(client, "alice", "alice-secret-1")

    def alice_gets(url: str, headers: dict[str, str] = alice) -> Any:
        answer = client.get(url, headers=headers, params={"limit": 100})
        assert answer.status_code == 200, (url, answer.text)
        return answer.json()

    dags = alice_gets("/api/v2/dags")
    assert [d["dag_id"] for d in dags["dags"]] == [MINE] and dags["total_entries"] == 1
    runs = alice_gets("/api/v2/dags/~/dagRuns")
    assert {r["dag_id"] for r in runs["dag_runs"]} == {MINE} and runs["total_entries"] == 1
    tis = alice_gets("/api/v2/dags/~/dagRuns/~/taskInstances")
    assert {t["dag_id"] for t in tis["task_instances"]} == {MINE} and tis["total_entries"] == 2
    xcoms = alice_gets("/api/v2/dags/~/dagRuns/~/taskInstances/~/xcomEntries")
    assert {x["dag_id"] for x in xcoms["xcom_entries"]} == {MINE}
    assert xcoms["total_entries"] == len(xcoms["xcom_entries"]) >= 1
    assert alice_gets("/api/v2/importErrors")["total_entries"] == 0
    backfills = client.get("/api/v2/backfills", params={"dag_id": MINE}, headers=alice)
    assert backfills.json()["total_entries"] == 0, backfills.text
    made = alice_gets("/api/v2/assets/events")  # both DAGs made the asset: hers only
    assert [e["source_dag_id"] for e in made["asset_events"]] == [MINE]
    assert made["total_entries"] == 1
    events = alice_gets("/api/v2/eventLogs")
    assert events["total_entries"] == len(events["event_logs"])
    assert {e["dag_id"] for e in events["event_logs"]} <= {MINE}
    run_id = access_world.run_ids[MINE]
    log = client.get(
        f"/api/v2/dags/{MINE}/dagRuns/{run_id}/taskInstances/extract/logs/1",
        headers=alice | {"Accept": "text/plain"},
    )
    assert log.status_code == 200 and f"rows of {MINE}" in log.text
    paused = client.patch(f"/api/v2/dags/{MINE}", json={"is_paused": False}, headers=alice)
    assert paused.status_code == 200, paused.text
    hidden = client.get(f"/api/v2/dags/{HIDDEN}", headers=alice)
    assert hidden.status_code == 404 and hidden.json() == {"detail": f"no DAG {HIDDEN!r}"}
    assert client.get("/api/v2/pools", headers=alice).status_code == 403  # no DAG's
    # Airflow 2's routes, with basic auth: the same DAGs.
    old = alice_gets("/api/v1/dags", _basic("alice", "alice-secret-1"))
    assert [d["dag_id"] for d in old["dags"]] == [MINE] and old["total_entries"] == 1
    # A viewer given a named role reads every DAG, edits only that role's.
    accounts.set_roles(access_world.store, "viewer", ["viewer", "team_a"])
    try:
        viewer = _jwt(client, "viewer", PASSWORDS["viewer"])
        assert client.get("/api/v2/dags", headers=viewer).json()["total_entries"] == 2
        mine = client.patch(f"/api/v2/dags/{MINE}", json={"is_paused": False}, headers=viewer)
        assert mine.status_code == 200, mine.text
        other = client.patch(f"/api/v2/dags/{HIDDEN}", json={"is_paused": True}, headers=viewer)
        assert other.status_code == 403 and "may read DAG" in other.json()["detail"]
    finally:
        accounts.set_roles(access_world.store, "viewer", ["viewer"])
    # A named role granting no DAG: nothing to see, a DAG not there.
    nora = _jwt(client, "nora", "nora-secret-12")
    assert client.get("/api/v2/dags", headers=nora).json()["total_entries"] == 0
    assert client.get(f"/api/v2/dags/{MINE}", headers=nora).status_code == 404


def test_every_route_shows_a_user_only_the_dags_their_roles_may_read(
    access_world: World,
) -> None:
    world = access_world
    alice = _client(world, "alice", "alice-secret-1")
    before = _hidden_runs(world)
    asks, routes = _asks(world)
    leaks: list[str] = []
    answers: dict[tuple[str, str], tuple[int, str]] = {}
    for ask in asks:
        response = alice.request(ask.method, ask.url, json=ask.body, follow_redirects=False)
        unhealthy = ask.path.endswith("/health")  # 503: no scheduler runs in this test
        assert response.status_code < 500 or unhealthy, (ask, response.text[:500])
        if ask.about in (HIDDEN, NOWHERE):
            key = (ask.method, ask.url.replace(ask.about, NOWHERE))
            answers.setdefault(key, (0, ""))
            if ask.about == HIDDEN:
                answers[key] = _normalized(response, HIDDEN)
                if response.status_code not in (401, 403, 404):
                    leaks.append(f"{ask.method} {ask.url}: {response.status_code}")
            else:
                assert answers[key] == _normalized(response, NOWHERE), (
                    f"{ask.method} {ask.url}: the other DAG's answer differs from an unknown "
                    "DAG's, so it tells that the DAG exists"
                )
        elif HIDDEN in _shown(response):
            leaks.append(f"{ask.method} {ask.url}: {response.status_code} shows {HIDDEN}")
    assert not leaks, "\n".join(leaks)
    walked = {(a.method, a.path) for a in asks}
    assert walked == routes
    print(f"walked {len(routes)} routes with {len(asks)} requests")
    assert len(routes) >= 115, sorted(routes)  # the app's routes, not a handful
    # What Alice may read she reads, and the hidden DAG kept its state.
    admin = _client(world, "admin", PASSWORDS["admin"])
    assert admin.get(f"/api/v1/dags/{HIDDEN}").json()["is_paused"] is False
    assert admin.get(f"/api/v1/dags/{HIDDEN}/runs").json()["total"] == len(before)
    assert _hidden_runs(world) == before


# -- /api/v2 and the Airflow 2 routes ------------------------------------------------------

#: The routes that take DAG ids in their body, and the body naming a DAG: asked about Alice's
#: DAG, the other DAG and a DAG that does not exist (lists with ``~`` in the path).
V2_BODIES: dict[str, Any] = {
    "/dags/{dag_id}/dagRuns/list": lambda d: {"dag_ids": [MINE, d], "page_limit": 100},
    "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/list": lambda d: {
        "dag_ids": [MINE, d],
        "page_limit": 100,
    },
    "/backfills": lambda d: {"dag_id": d, **RANGE},
    "/dags/{dag_id}/clearDagRuns": lambda d: {"dag_runs": [{"dag_id": d, "dag_run_id": "r"}]},
    "/backfills/dry_run": lambda d: {"dag_id": d, **RANGE},
}


def _jwt(client: TestClient, username: str, password: str) -> dict[str, str]:
    answer = client.post("/auth/token", json={"username": username, "password": password})
    assert answer.status_code in (200, 201), answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _basic(username: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def _mounted_apis(world: World) -> list[tuple[str, FastAPI]]:
    """The FastAPI apps mounted in the app (``/api/v2``, the Airflow 2 routes), once each."""
    found: dict[int, tuple[str, FastAPI]] = {}
    for route in world.app.routes:
        if isinstance(route, Mount) and isinstance(route.app, FastAPI):
            found.setdefault(id(route.app), (route.path, route.app))
    return list(found.values())


def _ids(admin: TestClient, url: str, field: str, key: str, **params: str) -> list[str]:
    answer = admin.get(url, params={"limit": "100", **params})
    assert answer.status_code == 200, answer.text
    return [str(entry[key]) for entry in answer.json()[field]]


def _filled(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: values[m.group(1)], path)


def _v2_asks(world: World, admin: TestClient) -> tuple[list[Ask], set[tuple[str, str]]]:
    """Every request of the walk of the mounted APIs: each route about Alice's DAG, the
    other DAG, a DAG that does not exist and ``~`` (every DAG); routes on numbered entries
    (event log, import errors, backfills, assets) about each entry there is."""
    numbered = {
        "event_log_id": _ids(admin, "/api/v2/eventLogs", "event_logs", "event_log_id"),
        "import_error_id": _ids(admin, "/api/v2/importErrors", "import_errors", "import_error_id"),
        "backfill_id": _ids(admin, "/api/v2/backfills", "backfills", "id", dag_id=HIDDEN),
        "asset_id": _ids(admin, "/api/v2/assets", "assets", "id"),
    }
    assert all(numbered.values()), numbered
    runs = world.run_ids | {NOWHERE: world.run_ids[HIDDEN], "~": "~"}
    hidden_file_token = admin.get(f"/api/v2/dags/{HIDDEN}").json()["file_token"]
    asks: list[Ask] = []
    routes: set[tuple[str, str]] = set()
    for prefix, api in _mounted_apis(world):
        for route in iter_route_contexts(api.routes):
            path = route.path
            for method in sorted((route.methods or set()) - {"HEAD"}):
                routes.add((method, prefix + path))
                body: dict[str, Any] | None = {} if method != "GET" else None
                if path in V2_BODIES and method == "POST":
                    url = prefix + path.replace("{dag_id}", "~").replace("{dag_run_id}", "~")
                    for dag_id in (MINE, HIDDEN, NOWHERE):
                        about = dag_id if dag_id != MINE else None
                        named = V2_BODIES[path](dag_id)
                        asks.append(Ask(method, prefix + path, url, named, about=about))
                dags = (MINE, HIDDEN, NOWHERE, "~") if "{dag_id}" in path else (None,)
                for dag_id in dags:
                    values = {
                        "dag_id": dag_id or MINE,
                        "dag_run_id": runs[dag_id or MINE],
                        "task_id": "extract",
                        "group_id": "some_group",
                        "map_index": "0",
                        "try_number": "1",
                        "task_try_number": "1",
                        "xcom_key": "return_value",
                        "version_number": "1",
                        "pool_name": "default_pool",
                        "connection_id": "some_conn",
                        "variable_key": "some_key",
                        "key": "some_key",  # a state store's key
                        "section": "core",
                        "option": "dags_folder",
                        "asset_alias_id": "1",
                        "path": "nothing/here",
                        # The other DAG's file: asking to parse it must not name that DAG.
                        "file_token": hidden_file_token,
                    }
                    spread = [k for k in numbered if "{" + k + "}" in path]
                    fills = [{k: n} for k in spread for n in numbered[k]] or [{}]
                    for fill in fills:
                        url = prefix + _filled(path, values | fill)
                        about = dag_id if dag_id in (HIDDEN, NOWHERE) else None
                        asks.append(Ask(method, prefix + path, url, body, about=about))
                        if method == "GET" and "{" not in path:  # the lists' filters
                            query = "?dag_id_pattern=ledger&dag_id_prefix_pattern=ledger"
                            asks.append(Ask(method, prefix + path, url + query + "&limit=100"))
    order = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
    asks.sort(key=lambda a: order[a.method])  # stable otherwise
    return asks, routes


def test_every_airflow_api_route_shows_a_user_only_the_dags_their_roles_may_read(
    access_world: World,
) -> None:
    world = access_world
    client = TestClient(world.app, base_url="http://testserver")
    world.clients.append(client)
    admin_headers = _jwt(client, "admin", PASSWORDS["admin"])
    admin = TestClient(world.app, base_url="http://testserver", headers=admin_headers)
    world.clients.append(admin)
    alice_jwt = _jwt(client, "alice", "alice-secret-1")
    alice_basic = _basic("alice", "alice-secret-1")
    before = _hidden_runs(world)
    assert len([r for r in before if r[0].startswith("backfill__")]) == 2
    asks, routes = _v2_asks(world, admin)
    leaks: list[str] = []
    answers: dict[tuple[str, str], tuple[int, str]] = {}
    for ask in asks:
        headers = alice_jwt if ask.url.startswith("/api/v2") else alice_basic
        response = client.request(
            ask.method, ask.url, json=ask.body, headers=headers, follow_redirects=False
        )
        # 503: no scheduler runs in this test; 501: a path of Airflow's Conveyor does not serve
        expected = response.status_code < 500 or response.status_code == 501
        assert expected or ask.path.endswith("/health"), (ask, response.text[:500])
        if ask.about in (HIDDEN, NOWHERE):
            named = str(ask.body).replace(ask.about, NOWHERE)
            key = (ask.method, ask.url.replace(ask.about, NOWHERE) + named)
            if ask.about == HIDDEN:
                answers[key] = _normalized(response, HIDDEN)
                refused = response.status_code in (401, 403, 404, 422)
                if not refused and (HIDDEN in ask.url or HIDDEN in _shown(response)):
                    leaks.append(f"{ask.method} {ask.url} {ask.body}: {response.status_code}")
            else:
                assert answers[key] == _normalized(response, NOWHERE), (
                    f"{ask.method} {ask.url} {ask.body}: the other DAG's answer differs from "
                    f"an unknown DAG's, so it tells that the DAG exists: {answers[key]}"
                )
        elif HIDDEN in _shown(response):
            leaks.append(f"{ask.method} {ask.url}: {response.status_code} shows {HIDDEN}")
    assert not leaks, "\n".join(leaks)
    assert {(a.method, a.path) for a in asks} == routes
    print(f"walked {len(routes)} /api/v2 and Airflow 2 routes with {len(asks)} requests")
    assert len(routes) >= 100, sorted(routes)  # both APIs' routes, not a handful
    hidden = admin.get(f"/api/v2/dags/{HIDDEN}")
    assert hidden.status_code == 200 and hidden.json()["is_paused"] is False
    assert admin.get(f"/api/v2/dags/{HIDDEN}/dagRuns").json()["total_entries"] == len(before)
    assert _hidden_runs(world) == before
