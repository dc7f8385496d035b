"""The http provider's pure parts: every import path, the missing-extra line, and how the
base URL is made from a connection."""

from __future__ import annotations

import importlib
import sys

import pytest

from airflow_hook_on import assert_import_names_the_extra
from conveyor.connections.forms import connection_from_text
from conveyor.providers.http import hook as http_hook
from conveyor.providers.http import operator as http_operator
from conveyor.providers.http import sensor as http_sensor

#: The provider's class for each name users import.
CLASSES: dict[str, type] = {
    "HttpHook": http_hook.HttpHook,
    "HttpOperator": http_operator.HttpOperator,
    "SimpleHttpOperator": http_operator.SimpleHttpOperator,
    "HttpSensor": http_sensor.HttpSensor,
}


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("airflow.providers.http.hooks.http", "HttpHook"),
        ("airflow.providers.http.operators.http", "HttpOperator"),
        ("airflow.providers.http.operators.http", "SimpleHttpOperator"),
        ("airflow.providers.http.sensors.http", "HttpSensor"),
        ("airflow.hooks.http_hook", "HttpHook"),
        ("airflow.hooks", "HttpHook"),
        ("airflow.operators.http_operator", "SimpleHttpOperator"),
        ("airflow.sensors.http_sensor", "HttpSensor"),
    ],
)
def test_every_airflow_path_gives_the_provider_class(
    airflow_hook: None, module: str, name: str
) -> None:
    assert issubclass(getattr(importlib.import_module(module), name), CLASSES[name])


def test_a_missing_httpx_fails_the_import_naming_the_extra(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    for module in ("client", "hook", "operator", "sensor"):
        monkeypatch.delitem(sys.modules, f"conveyor.providers.http.{module}")
    assert_import_names_the_extra(
        "airflow.providers.http.operators.http",
        "HttpOperator",
        "http",
        "from airflow.providers.http.hooks.http import HttpHook\n",
    )


@pytest.mark.parametrize(
    ("uri", "base"),
    [
        # Airflow's URI: the path is a base path, the type the scheme.
        ("http://u:p@api.local:8080/v2", "http://api.local:8080/v2"),
        ("https://api.local", "https://api.local"),
        # Airflow's form: the schema field holds the scheme.
        ("http://api.local:443/https", "https://api.local:443"),
        # A host that holds the whole base URL.
        ("http://https%3A%2F%2Fapi.local%2Fbase", "https://api.local/base"),
    ],
)
def test_the_base_url_comes_from_the_connection(uri: str, base: str) -> None:
    hook = http_hook.HttpHook()
    hook._set_base_url(connection_from_text("api", uri))
    assert hook.base_url == base


@pytest.mark.parametrize(
    ("base", "endpoint", "url"),
    [
        ("http://h/v2", "items", "http://h/v2/items"),
        ("http://h/v2/", "items", "http://h/v2/items"),
        ("http://h/v2", "/items", "http://h/v2/items"),
        ("http://h", None, "http://h"),
    ],
)
def test_endpoints_join_the_base_as_airflow_joins_them(
    base: str, endpoint: str | None, url: str
) -> None:
    assert http_hook.url_from_endpoint(base, endpoint) == url


def test_extra_keys_are_headers_except_request_options() -> None:
    conn = connection_from_text(
        "api", 'http://api.local?__extra__={"X-Tenant": "acme", "timeout": 5, "verify": false}'
    )
    headers, options = http_hook.HttpHook()._split_extra(conn, {"timeout": 9})
    assert headers == {"X-Tenant": "acme"}
    assert options == {"timeout": 9, "verify": False}
