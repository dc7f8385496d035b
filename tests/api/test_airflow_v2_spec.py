"""What Conveyor serves at ``/api/v2`` against Airflow's published OpenAPI spec.

The spec comes from the released ``apache-airflow-core`` wheel, fetched at test setup by
``ensure_airflow_spec`` (scripts/services.sh) into a gitignored cache, never kept in the
repository. For every route served: the same path and method, parameter names the spec
has, and every path and query parameter of the spec applied (none refused), the body's
required fields, and answers carrying every field the spec requires. Every route of the spec
is served: none answers 501.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from api_helpers import PASSWORDS, World, make_world, module_world

from conveyor.web.airflow_api import unserved
from tools_cache import tools_dir

REPO = Path(__file__).resolve().parents[2]
SPEC_VERSION = "3.3.2"
METHODS = ("get", "post", "put", "patch", "delete")

world = module_world("world", lambda tmp, url: make_world(tmp, url, execute=("pipeline",)))


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    tools = tools_dir()
    default = tools / "airflow-spec" / SPEC_VERSION / "v2-rest-api-generated.yaml"
    path = Path(os.environ.get("CONVEYOR_TEST_AIRFLOW_SPEC", default))
    if not path.is_file():
        pytest.fail(
            f"Airflow's spec is not at {path}: scripts/test fetches it (ensure_airflow_spec in "
            "scripts/services.sh); run `source scripts/_venv.sh; source scripts/services.sh; "
            "ensure_airflow_spec` once"
        )
    found: dict[str, Any] = yaml.safe_load(path.read_text())
    return found


@pytest.fixture(scope="module")
def served(world: World) -> dict[str, Any]:
    answer = world.client().get("/api/v2/openapi.json")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _body_required(document: dict[str, Any], operation: dict[str, Any]) -> set[str] | None:
    body = operation.get("requestBody")
    if body is None:
        return None
    schema = _resolve(document, next(iter(body["content"].values()))["schema"])
    return set(schema.get("required", []))


def _answer_schemas(document: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas a 2xx answer may have (each of an anyOf)."""
    found = []
    for status, answer in operation.get("responses", {}).items():
        if not status.startswith("2"):
            continue
        for media in answer.get("content", {}).values():
            schema = media.get("schema", {})
            for one in schema.get("anyOf", [schema]):
                resolved = _resolve(document, one)
                if resolved.get("properties"):
                    found.append(resolved)
    return found


def test_the_route_list_is_the_published_specs(spec: dict[str, Any]) -> None:
    published = {(method, path.removeprefix("/api/v2")) for method, path in _operations(spec)}
    assert set(unserved.AIRFLOW_ROUTES) == published


def test_served_routes_match_the_spec(
    world: World, spec: dict[str, Any], served: dict[str, Any]
) -> None:
    published = _operations(spec)
    mine = _operations(served)
    assert len(mine) >= 30
    problems = []
    for key, operation in sorted(mine.items()):
        theirs = published.get(key)
        if theirs is None:
            problems.append(f"{key}: not in Airflow's spec")
            continue
        if operation["operationId"] != theirs["operationId"]:
            # Clients generated from either document name their methods by it, and their
            # classes by the tags.
            problems.append(f"{key}: operation id {operation['operationId']} != Airflow's")
        if operation.get("tags") != theirs.get("tags"):
            problems.append(
                f"{key}: tags {operation.get('tags')} != Airflow's {theirs.get('tags')}"
            )
        names = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
        their_names = {(p["in"], p["name"]) for p in theirs.get("parameters", [])}
        extra = {n for n in names if n not in their_names}
        if extra:
            problems.append(f"{key}: parameters Airflow does not have: {sorted(extra)}")
        missing = {name for where, name in their_names - names if where in ("path", "query")}
        if missing:
            problems.append(f"{key}: Airflow's parameters not applied: {missing}")
        if _body_required(spec, theirs) != _body_required(served, operation):
            problems.append(
                f"{key}: required body fields {_body_required(served, operation)} != Airflow's "
                f"{_body_required(spec, theirs)}"
            )
        shapes = [set(s["properties"]) for s in _answer_schemas(served, operation)]
        for schema in _answer_schemas(spec, theirs):
            required = set(schema.get("required", []))
            if shapes and not any(required <= shape for shape in shapes):
                problems.append(f"{key}: answers lack fields Airflow requires: {required}")
    assert not problems, "\n".join(problems)


#: A real value for each path parameter naming something the world holds, so that a read
#: reaches past its lookups to the code that applies its query parameters.
KNOWN = {
    "dag_id": "pipeline",
    "task_id": "extract",
    "map_index": "-1",
    "task_try_number": "1",
    "try_number": "1",
    "xcom_key": "return_value",
    "pool_name": "default_pool",
    "version_number": "1",
}


def _sample_path(path: str, known: dict[str, str] | None = None) -> str:
    """``path`` with its parameters filled: the ``known`` ones, then ``0`` for a number and
    ``x`` for anything else."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if known and name in known:
            return known[name]
        return "0" if "index" in name or "number" in name or name.endswith("_id") else "x"

    return re.sub(r"\{([^}]+)\}", fill, path)


#: Values for the query parameters whose spec says only "string" where the route takes
#: one of a set (states, run types) or a time.
VALUES: dict[str, Any] = {
    "state": ["success"],
    "dag_run_state": ["success"],
    "run_type": ["manual"],
    "before": "2025-01-01T00:00:00Z",
}
#: Left out: what only the server hands out (a log's continuation token), and the partition
#: dates, which Airflow itself refuses (400) for a DAG that does not partition its runs.
UNSAMPLED = {"token", "partition_date_gte", "partition_date_lte"}


def _sample(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A value Airflow's spec allows for a parameter: its default, else its first choice,
    else one of its type."""
    schema = _resolve(spec, schema)
    if schema.get("default") not in (None, [], ""):
        return schema["default"]
    for one in schema.get("anyOf", []):
        if one.get("type") != "null":
            return _sample(spec, one)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "array":
        return [_sample(spec, schema.get("items", {}))]
    if kind == "boolean":
        return "false"
    if kind in ("integer", "number"):
        return max(1, int(schema.get("minimum", 1)))
    if schema.get("format") == "date-time":
        return "2025-01-01T00:00:00Z"
    return "a"


def _refused_parameters(response: Any, names: set[str]) -> list[str]:
    """The query parameters a 400 or 422 answer names: refused, where the spec allows them."""
    if response.status_code == 422:
        detail = response.json().get("detail")
        entries = detail if isinstance(detail, list) else []
        return [str(e["loc"][-1]) for e in entries if e.get("loc", [None])[0] == "query"]
    if response.status_code == 400:
        text = str(response.json().get("detail"))
        return [name for name in names if re.search(rf"\b{re.escape(name)}\b", text)]
    return []


def test_every_read_of_the_spec_takes_all_its_parameters(
    world: World, spec: dict[str, Any]
) -> None:
    """Each GET of Airflow's spec, on things that exist, with every query parameter of the
    spec given a value the spec allows: none refused, none answered 501."""
    client = world.client()
    token = client.post("/auth/token", json={"username": "admin", "password": PASSWORDS["admin"]})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    known = {**KNOWN, "dag_run_id": world.run_ids["pipeline"]}
    problems = []
    for (method, path), operation in sorted(_operations(spec).items()):
        if method != "GET" or path.endswith("/wait") or path.startswith("/api/v2/auth/"):
            continue  # a wait streams until its run ends; sign-in redirects take no query
        query = {
            p["name"]: VALUES.get(p["name"]) or _sample(spec, p.get("schema", {}))
            for p in operation.get("parameters", [])
            if p["in"] == "query" and p["name"] not in UNSAMPLED
        }
        response = client.get(_sample_path(path, known), params=query, headers=headers)
        if response.status_code >= 500:
            problems.append(f"GET {path}: {response.status_code} {response.text[:200]}")
            continue
        refused = _refused_parameters(response, set(query))
        if refused:
            problems.append(f"GET {path}: refused {refused} of {query}: {response.text[:300]}")
    assert not problems, "\n".join(problems)


def test_every_route_of_the_spec_is_served_and_none_answers_501(
    world: World, spec: dict[str, Any], served: dict[str, Any]
) -> None:
    client = world.client()
    token = client.post("/auth/token", json={"username": "admin", "password": PASSWORDS["admin"]})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    mine = _operations(served)
    answers: dict[tuple[str, str], int] = {}
    for method, path in sorted(_operations(spec)):
        response = client.request(method, _sample_path(path), headers=headers, json={})
        answers[(method, path)] = response.status_code
        assert (method, path) in mine, f"{method.upper()} {path}: not served"
        assert response.status_code != 501, (method, path, response.text)
        assert response.status_code < 500, (method, path, response.text)
    assert set(answers) == set(mine)


def test_a_map_index_in_the_path_is_any_whole_number(world: World) -> None:
    """``-1`` (an unmapped task's instance) reaches the route, as Airflow reads it; what is
    no whole number is Airflow's 422 naming ``map_index``, never the catch-all's 501."""
    client = world.client("admin")
    run = f"/api/v2/dags/pipeline/dagRuns/{world.run_ids['pipeline']}/taskInstances/extract"
    unmapped = client.get(run + "/-1")
    assert unmapped.status_code == 200, unmapped.text
    assert (unmapped.json()["task_id"], unmapped.json()["map_index"]) == ("extract", -1)
    assert client.get(run + "/-1/tries").json()["total_entries"] == 1
    for method, path in (("GET", run + "/null"), ("PATCH", run + "/state-store")):
        wrong = client.request(method, path, json={})
        assert wrong.status_code == 422, (method, path, wrong.text)
        assert wrong.json()["detail"][0]["loc"] == ["path", "map_index"]
    assert world.client().get(run + "/null").status_code == 401  # who calls, first
    # Beyond what the store's integer columns hold: a 422, where it overflowed (500).
    huge = str(2**63)
    for path in (f"{run}/{huge}", f"{run}/-1/hitlDetails/tries/{huge}", f"{run}/{huge}/tries"):
        assert client.get(path).status_code == 422, path
