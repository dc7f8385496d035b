"""The secrets backend settings, the choice of a backend by class path, and the local-file
backend's reading of Airflow's connection and variable files (JSON, YAML, .env)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conveyor.config import load_config, mask
from conveyor.connections import backends
from conveyor.connections.backends.local_file import LocalFilesystemBackend
from conveyor.exceptions import ConfigError

LOCAL = "airflow.secrets.local_filesystem.LocalFilesystemBackend"


@pytest.fixture(autouse=True)
def _fresh_backends() -> Iterator[None]:
    backends.forget_loaded()
    yield
    backends.forget_loaded()


def _settings(tmp_path: Path, **env: str) -> Any:
    return load_config({"CONVEYOR_HOME": str(tmp_path), **env}).settings


# -- settings ---------------------------------------------------------------------------------


def test_airflows_secrets_variables_set_the_backend(tmp_path: Path) -> None:
    loaded = load_config(
        {
            "CONVEYOR_HOME": str(tmp_path),
            "AIRFLOW__SECRETS__BACKEND": LOCAL,
            "AIRFLOW__SECRETS__BACKEND_KWARGS": '{"variables_file_path": "/v.json"}',
            "AIRFLOW__SECRETS__USE_CACHE": "True",
            "AIRFLOW__SECRETS__CACHE_TTL_SECONDS": "60",
        }
    )
    settings = loaded.settings
    assert settings.secrets_backend == LOCAL
    assert settings.backend_kwargs == {"variables_file_path": "/v.json"}
    assert settings.secrets_use_cache is True
    assert settings.secrets_cache_ttl_seconds == 60
    assert loaded.sources["secrets_backend"] == "env AIRFLOW__SECRETS__BACKEND"


def test_settings_stay_hashable_with_kwargs_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "conveyor.toml").write_text(
        '[conveyor]\nsecrets_backend_kwargs = { variables_prefix = "/prod/variables" }\n'
    )
    settings = _settings(tmp_path)
    assert settings.backend_kwargs == {"variables_prefix": "/prod/variables"}
    assert hash(settings) == hash(_settings(tmp_path))


def test_conveyors_own_variable_wins_over_airflows(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        AIRFLOW__SECRETS__BACKEND="a.b.Airflows",
        CONVEYOR_SECRETS_BACKEND="c.d.Conveyors",
    )
    assert settings.secrets_backend == "c.d.Conveyors"


def test_kwargs_that_are_not_a_json_object_are_refused_with_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, AIRFLOW__SECRETS__BACKEND_KWARGS="{not json")
    assert "secrets_backend_kwargs" in str(caught.value)
    assert "AIRFLOW__SECRETS__BACKEND_KWARGS" in str(caught.value)
    with pytest.raises(ConfigError, match="JSON object"):
        _settings(tmp_path, CONVEYOR_SECRETS_BACKEND_KWARGS="[1, 2]")


def test_config_show_hides_the_backends_credentials() -> None:
    shown = mask(
        "secrets_backend_kwargs",
        json.dumps({"token": "hvs.x", "aws_secret_access_key": "k", "url": "http://vault:8200"}),
    )
    assert json.loads(shown) == {
        "token": "***",
        "aws_secret_access_key": "***",
        "url": "http://vault:8200",
    }


# -- choosing the backend ---------------------------------------------------------------------


def test_airflows_class_paths_name_conveyors_backends(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        CONVEYOR_SECRETS_BACKEND=LOCAL,
        CONVEYOR_SECRETS_BACKEND_KWARGS=json.dumps({"variables_file_path": "/nowhere.json"}),
    )
    found = backends.configured(settings)
    assert found is not None and isinstance(found.backend, LocalFilesystemBackend)
    assert found.name == LOCAL
    assert backends.configured(settings) is found  # made once per process
    assert backends.configured(_settings(tmp_path)) is None


def test_a_backend_conveyor_does_not_have_is_refused_by_name(tmp_path: Path) -> None:
    path = "airflow.providers.google.cloud.secrets.secret_manager.CloudSecretManagerBackend"
    settings = _settings(tmp_path, CONVEYOR_SECRETS_BACKEND=path)
    with pytest.raises(ConfigError, match="Google Cloud Secret Manager"):
        backends.configured(settings)


def test_a_path_that_does_not_import_is_a_config_error(tmp_path: Path) -> None:
    settings = _settings(tmp_path, CONVEYOR_SECRETS_BACKEND="no_such_pkg.Backend")
    with pytest.raises(ConfigError, match=r"cannot import 'no_such_pkg\.Backend'"):
        backends.configured(settings)


def test_an_argument_the_backend_does_not_take_is_named(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        CONVEYOR_SECRETS_BACKEND="airflow.providers.amazon.aws.secrets.secrets_manager."
        "SecretsManagerBackend",
        CONVEYOR_SECRETS_BACKEND_KWARGS=json.dumps({"connection_prefix": "x"}),
    )
    with pytest.raises(ConfigError) as caught:
        backends.configured(settings)
    assert "'connection_prefix'" in str(caught.value)
    assert "secrets_backend_kwargs" in str(caught.value)


def test_an_unknown_vault_sign_in_is_refused(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        CONVEYOR_SECRETS_BACKEND="airflow.providers.hashicorp.secrets.vault.VaultBackend",
        CONVEYOR_SECRETS_BACKEND_KWARGS=json.dumps(
            {"url": "http://127.0.0.1:1", "auth_type": "kubernetes", "kubernetes_role": "r"}
        ),
    )
    with pytest.raises(ConfigError, match="kubernetes"):
        backends.configured(settings)


# -- the local-file backend -------------------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_connections_from_a_json_file_as_uri_or_object(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "conns.json",
        json.dumps(
            {
                "warehouse": "postgresql://etl:p%40ss@db.internal:5432/dw?sslmode=require",
                "api": {
                    "conn_type": "http",
                    "host": "api.example",
                    "password": "tok-123",
                    "extra_dejson": {"timeout": 5},
                },
            }
        ),
    )
    settings = _settings(
        tmp_path,
        CONVEYOR_SECRETS_BACKEND=LOCAL,
        CONVEYOR_SECRETS_BACKEND_KWARGS=json.dumps({"connections_file_path": path}),
    )
    warehouse = backends.find_connection(settings, "warehouse")
    assert warehouse is not None
    assert (warehouse.conn_type, warehouse.host, warehouse.port) == (
        "postgres",  # Airflow's name for a postgresql:// URI's type
        "db.internal",
        5432,
    )
    assert (warehouse.login, warehouse.password, warehouse.schema) == ("etl", "p@ss", "dw")
    assert warehouse.extra_dejson == {"sslmode": "require"}
    api = backends.find_connection(settings, "api")
    assert api is not None and api.password == "tok-123" and api.extra_dejson == {"timeout": 5}
    assert backends.find_connection(settings, "absent") is None


def test_connections_and_variables_from_yaml_files(tmp_path: Path) -> None:
    conns = _write(
        tmp_path,
        "conns.yaml",
        "smtp:\n  conn_type: smtp\n  host: mail.example\n  port: 587\n  login: bot\n",
    )
    variables = _write(
        tmp_path, "vars.yml", "region: eu-west-1\nlimits:\n  rows: 10\n  tables: [a, b]\n"
    )
    settings = _settings(
        tmp_path,
        CONVEYOR_SECRETS_BACKEND=LOCAL,
        CONVEYOR_SECRETS_BACKEND_KWARGS=json.dumps(
            {"connections_file_path": conns, "variables_file_path": variables}
        ),
    )
    smtp = backends.find_connection(settings, "smtp")
    assert smtp is not None and (smtp.host, smtp.port, smtp.login) == ("mail.example", 587, "bot")
    assert backends.find_variable(settings, "region") == "eu-west-1"
    limits = backends.find_variable(settings, "limits")
    assert limits is not None and json.loads(limits) == {"rows": 10, "tables": ["a", "b"]}


def test_an_env_file_holds_a_uri_or_json_per_line(tmp_path: Path) -> None:
    conns = _write(
        tmp_path,
        "conns.env",
        "# the warehouse\nwarehouse=postgresql://etl:pw@db:5432/dw\n\n"
        'api={"conn_type": "http", "host": "api.example"}\n',
    )
    variables = _write(tmp_path, "vars.env", "region=eu-west-1\ngreeting=a=b\n")
    backend = LocalFilesystemBackend(connections_file_path=conns, variables_file_path=variables)
    assert backend.get_conn_value("warehouse") == "postgresql://etl:pw@db:5432/dw"
    assert json.loads(backend.get_conn_value("api") or "") == {
        "conn_type": "http",
        "host": "api.example",
    }
    assert backend.get_variable("region") == "eu-west-1"
    assert backend.get_variable("greeting") == "a=b"  # only the first '=' separates


def test_a_file_that_does_not_parse_names_the_file_and_line(tmp_path: Path) -> None:
    bad_env = _write(tmp_path, "vars.env", "region=eu\nno equals sign here\n")
    with pytest.raises(ConfigError, match=r"vars\.env:2: expected KEY=VALUE"):
        LocalFilesystemBackend(variables_file_path=bad_env).get_variable("region")
    twice = _write(tmp_path, "twice.env", "a=1\na=2\n")
    with pytest.raises(ConfigError, match=r"twice\.env:2: 'a' is given twice"):
        LocalFilesystemBackend(variables_file_path=twice).get_variable("a")
    bad_json = _write(tmp_path, "conns.json", '{\n  "a": "x://h",\n  oops\n}')
    with pytest.raises(ConfigError, match=r"conns\.json:3: not valid JSON"):
        LocalFilesystemBackend(connections_file_path=bad_json).get_conn_value("a")
    listed = _write(tmp_path, "list.yaml", "- a\n- b\n")
    with pytest.raises(ConfigError, match="must hold an object"):
        LocalFilesystemBackend(variables_file_path=listed).get_variable("a")
    other = _write(tmp_path, "vars.txt", "a=1\n")
    with pytest.raises(ConfigError, match="unsupported file type"):
        LocalFilesystemBackend(variables_file_path=other).get_variable("a")


def test_a_backend_failure_names_the_backend_and_the_key(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        CONVEYOR_SECRETS_BACKEND=LOCAL,
        CONVEYOR_SECRETS_BACKEND_KWARGS=json.dumps(
            {"variables_file_path": str(tmp_path / "missing.json")}
        ),
    )
    with pytest.raises(backends.SecretsBackendError) as caught:
        backends.find_variable(settings, "region")
    message = str(caught.value)
    assert LOCAL in message and "'region'" in message and "missing.json" in message


def test_a_connection_that_does_not_parse_is_a_backend_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "conns.json", json.dumps({"bad": {"host": "no type"}}))
    settings = _settings(
        tmp_path,
        CONVEYOR_SECRETS_BACKEND=LOCAL,
        CONVEYOR_SECRETS_BACKEND_KWARGS=json.dumps({"connections_file_path": path}),
    )
    with pytest.raises(backends.SecretsBackendError, match="conn_type"):
        backends.find_connection(settings, "bad")


# -- the cache while DAG files are parsed -----------------------------------------------------


@pytest.fixture
def parsing_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A process outside any try (as DAG parsing is), configured by the environment with the
    local-file backend and the cache on; the variables file it reads."""
    import conveyor.connections as connections

    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({"region": "first"}))
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND", LOCAL)
    monkeypatch.setenv(
        "AIRFLOW__SECRETS__BACKEND_KWARGS", json.dumps({"variables_file_path": str(variables)})
    )
    monkeypatch.setenv("AIRFLOW__SECRETS__USE_CACHE", "true")
    monkeypatch.setattr(connections, "_default", None)
    monkeypatch.setattr(connections, "_cache", {})
    yield variables
    if connections._default is not None:
        connections._default[0].dispose()


def test_parsing_reads_a_cached_value_until_its_lifetime_ends(
    parsing_process: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import conveyor.connections as connections
    from conveyor.connections import Variable

    assert Variable.get("region") == "first"
    parsing_process.write_text(json.dumps({"region": "second"}))
    assert Variable.get("region") == "first"  # kept for cache_ttl_seconds (900 by default)
    store, settings = connections._active()
    # A try never reads the cache: it sees the value of the moment.
    with connections.bind(store, settings):
        assert Variable.get("region") == "second"
    expired = settings.model_copy(update={"secrets_cache_ttl_seconds": 0.0})
    monkeypatch.setattr(connections, "_default", (store, expired))
    assert Variable.get("region") == "second"


def test_without_the_cache_parsing_reads_each_time(
    parsing_process: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conveyor.connections import Variable

    monkeypatch.setenv("AIRFLOW__SECRETS__USE_CACHE", "false")
    assert Variable.get("region") == "first"
    parsing_process.write_text(json.dumps({"region": "second"}))
    assert Variable.get("region") == "second"


def test_dag_files_read_the_secrets_settings_by_airflows_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conveyor.airflow_compat.configuration import conf

    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path))
    monkeypatch.delenv("AIRFLOW__SECRETS__BACKEND", raising=False)
    monkeypatch.delenv("AIRFLOW__SECRETS__BACKEND_KWARGS", raising=False)
    assert conf.get("secrets", "backend") == ""
    monkeypatch.setenv("CONVEYOR_SECRETS_BACKEND", LOCAL)
    monkeypatch.setenv("CONVEYOR_SECRETS_BACKEND_KWARGS", '{"variables_file_path": "/v.json"}')
    assert conf.get("secrets", "backend") == LOCAL
    assert json.loads(conf.get("secrets", "backend_kwargs")) == {"variables_file_path": "/v.json"}
    assert conf.getboolean("secrets", "use_cache") is False
