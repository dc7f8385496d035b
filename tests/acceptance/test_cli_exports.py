"""``conveyor pools import|export``, ``connections export`` and ``variables export`` in
Airflow's JSON forms, on both stores."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_helpers import Cli, make_cli

from conveyor.store import pools
from conveyor.store.engine import Store


@pytest.fixture
def cli(tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch) -> Cli:
    for name in list(os.environ):  # the store's own connections and variables only
        if name.startswith(("CONVEYOR_CONN_", "CONVEYOR_VAR_", "AIRFLOW_CONN_", "AIRFLOW_VAR_")):
            monkeypatch.delenv(name)
    return make_cli(tmp_path, store_url, store, monkeypatch)


def _pools(cli: Cli) -> dict[str, tuple[int | None, str | None]]:
    with cli.store.read() as conn:
        return {p.name: (p.slots, p.description) for p in pools.list_pools(conn)}


def test_pools_import_then_export_in_airflows_form(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "pools.json"
    source.write_text(
        json.dumps(
            {
                "warehouse": {
                    "slots": 4,
                    "description": "the warehouse",
                    "include_deferred": False,
                },
                "api": {"slots": -1, "description": "no limit"},
            }
        )
    )
    result = cli("pools", "import", str(source))
    assert result.exit_code == 0, result.output
    assert "2 pools imported: 2 created, 0 updated" in result.output
    found = _pools(cli)
    assert found["warehouse"] == (4, "the warehouse")
    assert found["api"] == (None, "no limit")

    target = tmp_path / "out.json"
    assert cli("pools", "export", str(target)).exit_code == 0
    exported = json.loads(target.read_text())
    assert exported["warehouse"] == {
        "description": "the warehouse",
        "slots": 4,
        "include_deferred": False,
    }
    assert exported["api"]["slots"] == -1
    assert "default_pool" in exported

    # Exported then imported again: the same pools.
    before = _pools(cli)
    assert cli("pools", "import", str(target)).exit_code == 0
    assert _pools(cli) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "expected an object"),
        ("{", "pools.json:1: not valid JSON"),
        ('{"ok": {"slots": 2}, "bad": {"slots": "many"}}', "pool 'bad': slots must be"),
        ('{"bad": {"slots": 2, "colour": "red"}}', "pool 'bad': unknown keys colour"),
        ('{"ok": {"slots": 2}, "": {"slots": 1}}', "invalid pool name"),
    ],
)
def test_a_bad_pools_file_imports_nothing_and_says_where(
    cli: Cli, tmp_path: Path, content: str, message: str
) -> None:
    source = tmp_path / "pools.json"
    source.write_text(content)
    before = _pools(cli)
    result = cli("pools", "import", str(source))
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert _pools(cli) == before  # all or nothing


def test_connections_export_masks_unless_revealed_and_imports_back(
    cli: Cli, tmp_path: Path
) -> None:
    added = cli(
        "connections", "add", "warehouse",
        "--uri", "postgresql://etl:hunter22@db.example:5432/dw?sslmode=require",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    masked = cli("connections", "export", "-")
    assert masked.exit_code == 0, masked.output
    assert "hunter22" not in masked.output
    revealed_file = tmp_path / "conns.json"
    assert cli("connections", "export", str(revealed_file), "--reveal").exit_code == 0
    document = json.loads(revealed_file.read_text())
    assert document["warehouse"]["password"] == "hunter22"
    assert document["warehouse"]["host"] == "db.example"
    assert json.loads(document["warehouse"]["extra"]) == {"sslmode": "require"}

    # What Airflow's import reads, Conveyor's reads too: delete, import, same connection.
    assert cli("connections", "delete", "warehouse").exit_code == 0
    assert cli("connections", "import", str(revealed_file)).exit_code == 0
    again = cli("connections", "get", "warehouse", "--reveal", "-o", "json")
    assert json.loads(again.output)["password"] == "hunter22"


def test_variables_export_writes_values_and_json_as_airflow_does(cli: Cli, tmp_path: Path) -> None:
    assert cli("variables", "set", "region", "eu-west-1").exit_code == 0
    assert cli("variables", "set", "limits", '{"rows": 10}', "--json").exit_code == 0
    assert cli("variables", "set", "api_token", "tok-123", "--secret").exit_code == 0
    target = tmp_path / "vars.json"
    result = cli("variables", "export", str(target))
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text()) == {
        "api_token": "***",
        "limits": {"rows": 10},
        "region": "eu-west-1",
    }
    assert cli("variables", "export", str(target), "--reveal").exit_code == 0
    assert json.loads(target.read_text())["api_token"] == "tok-123"


def test_an_export_names_its_file_json(cli: Cli, tmp_path: Path) -> None:
    result = cli("variables", "export", str(tmp_path / "vars.yaml"))
    assert result.exit_code == 1
    assert "exports are JSON" in result.output
    assert not (tmp_path / "vars.yaml").exists()
