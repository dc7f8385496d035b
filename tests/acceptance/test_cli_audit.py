"""The CLI records its changing verbs in the audit log as the OS user, only when they
succeed, without secrets; ``conveyor audit list`` reads it with filters (both stores)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from cli_helpers import make_cli

from conveyor.store.engine import Store

DAG = """
from conveyor import DAG, task

with DAG("audited", schedule=None):
    @task
    def one():
        return 1
"""


def test_cli_verbs_are_recorded_and_listed(
    tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = make_cli(tmp_path, store_url, store, monkeypatch)
    cli.write_dag("audited.py", DAG)
    assert cli("dags", "trigger", "audited", "--run-id", "r1").exit_code == 0
    assert cli("dags", "pause", "audited").exit_code == 0
    assert cli("pools", "set", "small", "3").exit_code == 0
    assert cli("variables", "set", "api_password", "hunter2-secret").exit_code == 0
    assert cli("dags", "trigger", "audited", "--run-id", "r1").exit_code != 0  # exists: no row
    assert cli("dags", "list").exit_code == 0  # reads are not recorded

    listed = cli("audit", "list", "-o", "json")
    assert listed.exit_code == 0, listed.output
    entries = json.loads(listed.output)["entries"]
    assert [e["action"] for e in entries] == [
        "variable.set",
        "pool.set",
        "dag.pause",
        "run.trigger",
    ]
    assert {(e["actor"], e["via"]) for e in entries} == {(getpass.getuser(), "cli")}
    trigger = entries[-1]
    assert trigger["dag_id"] == "audited" and trigger["target"] == "audited/r1"
    assert trigger["details"] is None
    assert "hunter2-secret" not in listed.output

    only = json.loads(
        cli("audit", "list", "--dag", "audited", "--action", "dag.", "-o", "json").output
    )
    assert [e["action"] for e in only["entries"]] == ["dag.pause"]
    table = cli("audit", "list", "--action", "pool.set")
    assert "small" in table.output and "variable" not in table.output
    bad = cli("audit", "list", "--since", "yesterday")
    assert bad.exit_code == 1 and "--since" in bad.output
