"""A DAG's version history over the API: the list (first seen, file, runs per version), one
version's code, the diff between two; a run names its version; bad DAGs, versions and
roles are refused with a reason. Both stores."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import World, close, make_world

from conveyor.loading.processor import DagFileProcessor

V1 = textwrap.dedent(
    """
    from datetime import datetime

    from conveyor import DAG, BashOperator

    with DAG("versioned", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False):
        BashOperator(task_id="hello", bash_command="echo one <b>")
    """
)
V2 = V1.replace('"echo one <b>"', '"echo two & more"') + (
    '    BashOperator(task_id="extra", bash_command="true")\n'
)


def write_version(world: World, text: str) -> None:
    """Change the DAG file and parse the folder as the scheduler would."""
    (world.tmp / "dags" / "versioned.py").write_text(text)
    DagFileProcessor(world.store, world.tmp / "dags", timeout=30, scan_every=1).sync()


@pytest.fixture(name="two")
def two_versions(tmp_path: Path, store_url: str) -> Iterator[World]:
    """``versioned`` in two versions, one manual run pinned to each (v1 two runs)."""
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "versioned.py").write_text(V1)
    built = make_world(tmp_path, store_url, execute=())
    first = [built.trigger("versioned"), built.trigger("versioned")]
    write_version(built, V2)
    second = built.trigger("versioned")
    built.run_ids = {
        "v1": built.run_id(first[0]),
        "v1b": built.run_id(first[1]),
        "v2": built.run_id(second),
    }
    yield built
    close(built)


def test_list_code_and_diff_of_two_versions(two: World) -> None:
    viewer = two.client("viewer")
    listed = viewer.get("/api/v1/dags/versioned/versions")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["dag_id"] == "versioned" and body["total"] == 2
    new, old = body["versions"]  # newest first
    assert new["is_current"] and not old["is_current"]
    assert old["created_at"] <= new["created_at"]
    assert (old["run_count"], new["run_count"]) == (2, 1)
    assert new["fileloc"].endswith("versioned.py") and old["fileloc"] == new["fileloc"]
    assert old["last_run_at"] is not None
    paged = viewer.get("/api/v1/dags/versioned/versions", params={"limit": 1, "offset": 1})
    assert paged.json()["total"] == 2 and paged.json()["versions"] == [old]

    # A run names the version it is pinned to.
    run = viewer.get(f"/api/v1/dags/versioned/runs/{two.run_ids['v1']}").json()
    assert run["version_hash"] == old["version_hash"]
    run = viewer.get(f"/api/v1/dags/versioned/runs/{two.run_ids['v2']}").json()
    assert run["version_hash"] == new["version_hash"]

    code = viewer.get(f"/api/v1/dags/versioned/versions/{old['version_hash']}")
    assert code.status_code == 200, code.text
    assert code.json()["source"] == V1
    assert {r["run_id"] for r in code.json()["runs"]} == {two.run_ids["v1"], two.run_ids["v1b"]}
    # A unique prefix names the version too; the answer gives the whole hash.
    short = viewer.get(f"/api/v1/dags/versioned/versions/{new['version_hash'][:8]}")
    assert short.status_code == 200 and short.json()["source"] == V2
    assert short.json()["version_hash"] == new["version_hash"]

    diff = viewer.get(
        f"/api/v1/dags/versioned/versions/{old['version_hash']}/diff/{new['version_hash']}"
    )
    assert diff.status_code == 200, diff.text
    found = diff.json()
    assert found["changed"] is True
    assert (found["from_version"], found["to_version"]) == (
        old["version_hash"],
        new["version_hash"],
    )
    lines = found["unified"].splitlines()
    assert lines[0].startswith("--- ") and old["version_hash"][:12] in lines[0]
    assert '-    BashOperator(task_id="hello", bash_command="echo one <b>")' in lines
    assert '+    BashOperator(task_id="hello", bash_command="echo two & more")' in lines
    assert '+    BashOperator(task_id="extra", bash_command="true")' in lines

    same = viewer.get(
        f"/api/v1/dags/versioned/versions/{old['version_hash']}/diff/{old['version_hash']}"
    ).json()
    assert same["changed"] is False and same["unified"] == ""


def test_unknown_dags_versions_and_roles_are_refused_with_a_reason(two: World) -> None:
    viewer = two.client("viewer")
    current = viewer.get("/api/v1/dags/versioned/versions").json()["versions"][0]["version_hash"]
    cases = {
        "/api/v1/dags/nope/versions": (404, "no DAG 'nope'"),
        f"/api/v1/dags/nope/versions/{current}": (404, "no DAG 'nope'"),
        "/api/v1/dags/versioned/versions/abcdef0123": (404, "has no version 'abcdef0123'"),
        "/api/v1/dags/versioned/versions/abc": (404, "at least 6 characters"),
        "/api/v1/dags/versioned/versions/not-a-hash": (422, "version"),
        "/api/v1/dags/versioned/versions?limit=0": (422, "limit"),
        f"/api/v1/dags/versioned/versions/{current}/diff/abcdef0123": (404, "has no version"),
        f"/api/v1/dags/versioned/versions/{current}/diff/zzz": (422, "other"),
        # Another DAG's version is not a version of this one.
        f"/api/v1/dags/pipeline/versions/{current}": (404, "has no version"),
    }
    for path, (status, reason) in cases.items():
        answer = viewer.get(path)
        assert answer.status_code == status, (path, answer.text)
        assert reason in str(answer.json()["detail"]), (path, answer.text)
    anonymous = two.client()
    assert anonymous.get("/api/v1/dags/versioned/versions").status_code == 401
    assert anonymous.get(f"/api/v1/dags/versioned/versions/{current}").status_code == 401
    for role in ("op", "admin"):
        assert two.client(role).get("/api/v1/dags/versioned/versions").status_code == 200
