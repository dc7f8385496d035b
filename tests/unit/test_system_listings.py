"""The admin's system pages' listings: the plugins read from source without running it,
settings shown with every secret masked, providers with their connection types."""

from __future__ import annotations

from pathlib import Path

from conveyor.airflow_compat.plugin_listing import list_plugins
from conveyor.config import Settings
from conveyor.web.ui.system import config_rows, masked, provider_rows

PLUGIN = """
import sys
sys.exit("a plugin's module must not run on the Plugins page")

from conveyor.airflow_compat import plugins


class Metrics(plugins.AirflowPlugin):
    name = "metrics"
    hooks = [StatsHook]
    executors = [MyExecutor]
    menu_links = [link]


class Helper:
    operators = [Nothing]
"""


def test_plugins_are_read_from_their_source_without_running_it(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text(PLUGIN)
    (tmp_path / "broken.py").write_text("class (:\n")
    found, errors = list_plugins(tmp_path)
    assert [(p.name, p.module, p.class_name) for p in found] == [("metrics", "pkg", "Metrics")]
    assert found[0].lists["hooks"] == ["StatsHook"]
    assert list(found[0].refused) == ["executors"]
    assert found[0].not_shown == ["menu_links"]
    assert len(errors) == 1 and errors[0].startswith("broken: SyntaxError")


def test_no_plugins_folder_lists_nothing(tmp_path: Path) -> None:
    assert list_plugins(tmp_path / "missing") == ([], [])
    assert list_plugins(None) == ([], [])


def test_settings_are_shown_with_every_secret_masked(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        database_url="postgresql://etl:db-pass-1@db.internal/conveyor",
        broker_url="redis://:broker-pass-2@cache:6379/0",
        secret_key="cookie-key-4",
        fernet_key="fernet-key-5",
    ).resolved()
    shown = {row["key"]: row["value"] for row in config_rows(settings)}
    for secret in ("db-pass-1", "broker-pass-2", "cookie-key-4", "fernet-key-5"):
        assert all(secret not in value for value in shown.values()), secret
    assert shown["database_url"] == "postgresql://etl:***@db.internal/conveyor"
    # Any URL with a password, whatever the setting (a future one too).
    assert masked("remote_logs_url", "s3://keyid:s3-pass-3@bucket/logs") == (
        "s3://keyid:***@bucket/logs"
    )
    assert shown["parallelism"] == "8"
    assert masked("web_url", "https://conveyor.example/") == "https://conveyor.example/"


def test_providers_name_their_connection_types_and_hooks() -> None:
    rows = {row.name: row for row in provider_rows()}
    assert "postgresql" in rows["postgres"].conn_types
    assert "PostgresHook" in rows["postgres"].hooks
    assert "smtp" in rows["smtp"].conn_types
    assert rows["mysql"].extra == "mysql"
