"""A provider is declared once, in its own package (``PROVIDER``), and every list of
providers reads that: the registry's hooks, the connection Test, the web UI's connection
form and Providers page, ``/api/v2/providers``, the compat table and its generated docs.

The throwaway provider of ``provider_fixture/`` is a package and nothing else: put on the
package's path, it shows up in each of those places with no other edit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import conveyor.providers
from conveyor.airflow_compat import docs, docs_providers, table_providers
from conveyor.connections import Connection
from conveyor.providers import discovery, registry
from conveyor.providers.declaration import ConnectionType, Provider
from conveyor.web.airflow_api.providers import carried
from conveyor.web.ui import system
from conveyor.web.ui.admin import connection_form

FIXTURE = Path(__file__).parent / "provider_fixture"


def _forget() -> None:
    discovery.forget()
    system.provider_rows.cache_clear()
    for name in [m for m in sys.modules if m.startswith("conveyor.providers.throwaway")]:
        del sys.modules[name]


@pytest.fixture
def throwaway(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The throwaway provider's folder on ``conveyor.providers``' path, for one test."""
    monkeypatch.setattr(
        conveyor.providers, "__path__", [*conveyor.providers.__path__, str(FIXTURE)]
    )
    _forget()
    yield
    monkeypatch.undo()
    _forget()


def test_every_provider_package_declares_itself() -> None:
    found = {f.provider.name: f.module for f in registry.found()}
    assert found["postgres"] == "conveyor.providers.postgres"
    assert found["common.sql"] == "conveyor.providers.dbapi"
    assert found["cncf.kubernetes"] == "conveyor.providers.kubernetes"
    # Every package under conveyor/providers/ declares: none was forgotten.
    folder = Path(conveyor.providers.__file__).parent
    for package in (p.name for p in folder.iterdir() if (p / "__init__.py").exists()):
        assert discovery._declared(f"conveyor.providers.{package}"), package


def test_reading_the_declarations_imports_no_provider_library() -> None:
    # What every DAG-parsing process pays for the compat table: no driver, no store.
    script = (
        "import sys; import conveyor.airflow_compat.table; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(done.stdout.split())
    assert not loaded & {"pymysql", "jpype", "jaydebeapi", "boto3", "paramiko", "sqlalchemy"}


def test_the_ui_offers_exactly_the_registry_s_connection_types() -> None:
    form = connection_form()
    assert form["conn_types"] == list(registry.connection_types())
    assert set(form["conn_forms"]) == set(registry.connection_types())
    # The types the hand-kept list had drifted from, now declared by their providers.
    assert {"postgres", "postgresql", "aws", "slackwebhook", "samba", "spark"} <= set(
        form["conn_types"]
    )
    assert form["conn_forms"]["postgres"]["fields"]["schema"]["label"] == "Database"


def test_sql_types_and_tested_types_come_from_the_declarations() -> None:
    assert registry.sql_types() == [
        "jdbc", "mariadb", "mysql", "postgres", "postgresql", "sqlite",
    ]  # fmt: skip
    assert "http" in registry.testable_types() and "email" not in registry.testable_types()
    kind = registry.connection_type("Google-Cloud-Platform")
    assert kind is not None and kind.hook.endswith(":GoogleBaseHook")


def test_a_type_for_no_hook_is_refused_with_the_types_there_are() -> None:
    ok, message = registry.check_connection(Connection(conn_id="x", conn_type="ftp"))
    assert not ok and "'ftp'" in message and "postgres" in message


def test_a_declaration_names_only_standard_fields() -> None:
    with pytest.raises(ValueError, match="'hots'"):
        ConnectionType("x", "m:C", "X", hidden=("hots",))


def test_the_throwaway_provider_appears_everywhere(throwaway: None) -> None:
    assert "throwaway" in [p.name for p in registry.providers()]
    # The registry, the connection form and the Test.
    assert {"throwaway", "throwaway_v2"} <= set(registry.connection_types())
    form = connection_form()
    assert "throwaway_v2" in form["conn_types"]
    assert form["conn_forms"]["throwaway"]["fields"]["host"]["label"] == "Throwaway server"
    assert form["conn_forms"]["throwaway"]["extra_example"] == {"flavour": "vanilla"}
    conn = Connection(conn_id="mine", conn_type="throwaway", host="throw.example.com")
    assert registry.check_connection(conn) == (True, "reached throw.example.com")
    # The Providers page and /api/v2/providers.
    row = {r.name: r for r in system.provider_rows()}["throwaway"]
    assert row.conn_types == ["throwaway", "throwaway_v2"] and row.extra == "throwaway"
    assert (row.hooks, row.operators) == (["ThrowawayHook"], ["ThrowawayOperator"])
    assert carried()["apache-airflow-providers-throwaway"] == "conveyor.providers.throwaway"
    # The compat table and the docs generator.
    declared = table_providers.provider_modules(registry.providers())
    assert declared["airflow.hooks.throwaway_hook"] == {
        "ThrowawayHook": "conveyor.providers.throwaway.hook:ThrowawayHook"
    }
    assert "throwaway" in table_providers.listed_providers()
    provider = table_providers.listed_providers()["throwaway"]
    lines = docs_providers.provider_lines(provider, declared)
    assert lines[0].startswith("| `throwaway`<br>`conveyor[throwaway]` | `ThrowawayHook` →")
    assert "`airflow.hooks.throwaway_hook.ThrowawayHook`" in lines[0]


def test_a_dag_file_imports_the_throwaway_provider_by_its_airflow_path(tmp_path: Path) -> None:
    # A fresh process, as a DAG file's: the compat table is built from the declarations.
    script = textwrap.dedent(
        f"""
        import conveyor.providers
        conveyor.providers.__path__.append({str(FIXTURE)!r})
        from conveyor import airflow_compat
        assert airflow_compat.activate()
        from airflow.providers.throwaway.hooks.throwaway import ThrowawayHook
        print(ThrowawayHook.__module__, ThrowawayHook.default_conn_name)
        """
    )
    env = {**os.environ, "CONVEYOR_HOME": str(tmp_path)}
    env.pop("CONVEYOR_AIRFLOW_COMPAT", None)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["conveyor.providers.throwaway.hook", "throwaway_default"]


def test_two_packages_declaring_one_provider_are_refused(
    throwaway: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import conveyor.providers.throwaway as package

    monkeypatch.setattr(package, "PROVIDER", Provider(name="postgres"))
    discovery.forget()
    with pytest.raises(TypeError, match="both declare the provider 'postgres'"):
        discovery.found()
    discovery.forget()


def test_the_generated_docs_hold_every_provider() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "airflow.md").read_text()
    assert docs_providers.render_providers() in doc, (
        "run: python -m conveyor.airflow_compat.docs --write"
    )
    assert docs.render_table() in doc
