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


def _sample_path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "0" if "index" in m.group(0) else "x", path)


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
        assert response.status_code < 500, (method, path, response.text)
    assert set(answers) == set(mine)
