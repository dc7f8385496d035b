"""``conveyor config get-value`` and ``conveyor info``, in-process against the configuration."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest
from cli_helpers import Cli, make_cli

from conveyor import __version__
from conveyor.config import mask
from conveyor.store.engine import Store

SECRET_STORE = "postgresql://conveyor:s3cret-pw@db.example:5432/conveyor"
SECRET_BROKER = "redis://:br0ker-pw@redis.example:6379/0"


@pytest.fixture
def cli(tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.delenv("AIRFLOW__CORE__DAGS_FOLDER", raising=False)
    monkeypatch.delenv("AIRFLOW__CORE__EXECUTOR", raising=False)
    return make_cli(tmp_path, store_url, store, monkeypatch)


def _value(cli: Cli, *args: str) -> str:
    result = cli("config", "get-value", *args)
    assert result.exit_code == 0, result.output
    return result.output.rstrip("\n")


def test_get_value_by_airflows_section_and_key_or_conveyors_name(cli: Cli) -> None:
    assert _value(cli, "core", "dags_folder") == str(cli.dags.resolve())
    assert _value(cli, "CORE", "DAGS_FOLDER") == str(cli.dags.resolve())
    assert _value(cli, "dags_folder") == str(cli.dags.resolve())
    assert _value(cli, "core", "executor") == "LocalExecutor"
    assert _value(cli, "executor") == "local"
    assert _value(cli, "core", "default_timezone") == "utc"


def test_get_value_masks_secrets_unless_revealed(
    cli: Cli, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _value(cli, "database", "sql_alchemy_conn") == mask("database_url", store_url)
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", SECRET_STORE)
    assert _value(cli, "database", "sql_alchemy_conn") == (
        "postgresql://conveyor:***@db.example:5432/conveyor"
    )
    assert _value(cli, "core", "sql_alchemy_conn", "--reveal") == SECRET_STORE
    assert "s3cret" not in _value(cli, "database_url")


def test_get_value_of_a_key_only_airflow_has_is_airflows_default(cli: Cli) -> None:
    result = cli("config", "get-value", "core", "max_active_tasks_per_dag")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "16"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["core", "no_such_key"], "[core] no_such_key has no Conveyor equivalent"),
        (["no_such_setting"], "no setting 'no_such_setting'"),
    ],
)
def test_get_value_of_an_unknown_key_says_which(cli: Cli, args: list[str], message: str) -> None:
    result = cli("config", "get-value", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_info_names_the_installation_with_passwords_masked(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", SECRET_STORE)
    monkeypatch.setenv("CONVEYOR_BROKER_URL", SECRET_BROKER)
    result = cli("info", "-o", "json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["version"] == __version__
    assert found["python"].startswith(platform.python_version())
    assert found["home"] == str(cli.home.resolve())
    assert found["dags_folder"] == str(cli.dags.resolve())
    assert found["store"] == "postgresql://conveyor:***@db.example:5432/conveyor"
    assert found["broker"] == "redis://:***@redis.example:6379/0"
    assert found["executor"] == "local"
    assert "celery" in found["extras"].split(", ")  # the test environment has it
    table = cli("info")
    assert table.exit_code == 0
    for secret in ("s3cret-pw", "br0ker-pw"):
        assert secret not in result.output + table.output
    assert str(cli.dags.resolve()) in table.output


def test_info_shows_the_configured_store(cli: Cli, store_url: str) -> None:
    found = json.loads(cli("info", "-o", "json").output)
    assert found["store"] == mask("database_url", store_url)
