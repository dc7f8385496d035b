"""``conveyor dags pause`` / ``unpause`` on many DAGs (ids, ``--pattern``, Airflow's
``--treat-dag-id-as-regex``, ``--tag``), asking before changing several unless ``--yes``,
with an audit entry for each DAG changed; ``conveyor dags reserialize`` parses every file
now. Both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import Cli, make_cli

from conveyor.store.engine import Store

DAGS = """
from conveyor import DAG, task

for dag_id, tags in [("sales_daily", ["sales"]), ("sales_weekly", ["sales", "weekly"]),
                     ("ops_cleanup", ["ops"]), ("misc", [])]:
    with DAG(dag_id, schedule=None, tags=tags):
        @task
        def one():
            return 1
        one()
"""


def paused(cli: Cli) -> dict[str, bool]:
    listed = cli("dags", "list", "-o", "json")
    return {d["dag_id"]: d["is_paused"] for d in json.loads(listed.output)["dags"]}


def test_pause_and_unpause_many_by_tag_pattern_and_ids(
    tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = make_cli(tmp_path, store_url, store, monkeypatch)
    cli.write_dag("many.py", DAGS)
    assert not any(paused(cli).values())  # the tests' opt-out: new DAGs start unpaused

    refused = cli("dags", "pause", "--tag", "sales", input="n\n")
    assert refused.exit_code == 1
    assert "You are about to pause 2 DAGs" in refused.output
    assert "sales_daily" in refused.output and "sales_weekly" in refused.output
    assert not any(paused(cli).values())

    done = cli("dags", "pause", "--tag", "sales", input="y\n")
    assert done.exit_code == 0, done.output
    assert "sales_daily is paused" in done.output and "sales_weekly is paused" in done.output
    assert paused(cli) == {
        "sales_daily": True,
        "sales_weekly": True,
        "ops_cleanup": False,
        "misc": False,
    }

    one = cli("dags", "pause", "--pattern", "^ops")  # one DAG: no question
    assert one.exit_code == 0 and "ops_cleanup is paused" in one.output
    again = cli("dags", "pause", "sales_daily", "misc", "--yes")
    assert "sales_daily was already paused" in again.output and "misc is paused" in again.output

    regex = cli("dags", "unpause", "--treat-dag-id-as-regex", "sales_.*", "-y")
    assert regex.exit_code == 0, regex.output
    narrowed = cli("dags", "unpause", "--pattern", ".", "--tag", "ops")  # both must hold
    assert "ops_cleanup is unpaused" in narrowed.output
    assert paused(cli) == {
        "sales_daily": False,
        "sales_weekly": False,
        "ops_cleanup": False,
        "misc": True,
    }

    missing = cli("dags", "pause", "nope", "sales_daily")
    assert missing.exit_code == 1 and "no DAG 'nope'" in missing.output
    bad = cli("dags", "pause", "--pattern", "(")
    assert bad.exit_code == 1 and "not a regular expression" in bad.output
    nothing = cli("dags", "pause")
    assert nothing.exit_code == 1 and "--pattern REGEX or --tag TAG" in nothing.output
    none = cli("dags", "pause", "--tag", "finance")
    assert none.exit_code == 0 and "no DAG matches" in none.output

    # One audit entry for each DAG changed, none for those already in that state.
    entries = json.loads(cli("audit", "list", "--action", "dag.", "-o", "json").output)["entries"]
    changes = sorted((e["action"], e["dag_id"]) for e in entries)
    assert changes == [
        ("dag.pause", "misc"),
        ("dag.pause", "ops_cleanup"),
        ("dag.pause", "sales_daily"),
        ("dag.pause", "sales_weekly"),
        ("dag.unpause", "ops_cleanup"),
        ("dag.unpause", "sales_daily"),
        ("dag.unpause", "sales_weekly"),
    ]
    assert {e["via"] for e in entries} == {"cli"}


NEEDS_VARIABLE = """
from conveyor import DAG, task
from conveyor.connections import Variable

REGION = Variable.get("region")

with DAG(f"report_{REGION}", schedule=None):
    @task
    def one():
        return 1
    one()
"""


def test_reserialize_parses_unchanged_files_now(
    tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = make_cli(tmp_path, store_url, store, monkeypatch)
    cli.write_dag("report.py", NEEDS_VARIABLE)
    failing = cli("dags", "errors")
    assert failing.exit_code == 1 and "region" in failing.output
    assert cli("variables", "set", "region", "emea").exit_code == 0
    assert cli("dags", "errors").exit_code == 1  # unchanged file: not parsed again yet

    done = cli("dags", "reserialize")
    assert done.exit_code == 0, done.output
    assert "1 DAG(s), 0 file(s) fail to load" in done.output
    assert cli("dags", "errors").exit_code == 0
    assert "report_emea" in paused(cli)
