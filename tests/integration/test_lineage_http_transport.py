"""The OpenLineage client and http transport Conveyor sends with: the same requests as
OpenLineage's own transport (body, content headers, credentials, gzip) to a real HTTP
endpoint, its retry policy on a failing endpoint, a refusal raised, OpenLineage's own transport
kept wherever the two could differ (TLS, a proxy, a session or adapter of the caller's), and
the environment read only for the variables the configuration names."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attr
import pytest
import requests
from http_servers import Recorder, Seen, serve
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.transport.http import HttpTransport
from openlineage.client.uuid import generate_new_uuid

from conveyor.config import load_config
from conveyor.lineage import client, make_client
from conveyor.lineage.http_transport import EndpointRefused, PooledHttpTransport, lean
from conveyor.lineage.settings import read

ENDPOINT = "/api/v1/lineage"
#: What the two transports' requests must agree on.
COMPARED = ("content-type", "content-encoding", "authorization", "x-team", "user-agent")


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    # Which transport lean picks depends on the proxy variables: none, unless a test sets one.
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    recorder = Recorder(routes={("POST", ENDPOINT): lambda seen: (200, {}, {})})
    yield from serve(recorder)


def _event() -> RunEvent:
    return RunEvent(
        eventType=RunState.START,
        eventTime=datetime(2026, 12, 2, tzinfo=UTC).isoformat(),
        run=Run(runId=str(generate_new_uuid())),
        job=Job(namespace="team", name="etl.load"),
        producer="https://example.invalid/conveyor",
    )


def _transport(url: str, **config: Any) -> HttpTransport:
    client = OpenLineageClient(config={"transport": {"type": "http", "url": url, **config}})
    return client.transport


def _body(seen: Seen) -> bytes:
    return gzip.decompress(seen.body) if seen.headers.get("content-encoding") else seen.body


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"auth": {"type": "api_key", "apiKey": "s3cret"}, "custom_headers": {"X-Team": "data"}},
        {"compression": "gzip"},
    ],
    ids=["plain", "credentials", "gzip"],
)
def test_the_pooled_transport_sends_what_openlineages_sends(
    endpoint: Recorder, config: dict[str, Any]
) -> None:
    own = _transport(endpoint.url, **config)
    pooled = lean(_transport(endpoint.url, **config))
    assert isinstance(pooled, PooledHttpTransport)
    event = _event()
    own.emit(event)
    pooled.emit(event)
    pooled.emit(event)  # the kept connection serves a second post
    first, second, third = endpoint.requests("POST", ENDPOINT)
    assert _body(first) == _body(second) == _body(third)
    assert b'"etl.load"' in _body(first)
    for name in COMPARED:
        assert first.headers.get(name) == second.headers.get(name), name
    if config.get("auth"):
        assert second.headers["authorization"] == "Bearer s3cret"
        assert second.headers["x-team"] == "data"


def test_a_failing_endpoint_is_retried_and_a_refusal_raised(endpoint: Recorder) -> None:
    answers = iter([503, 503, 200, 400])
    endpoint.routes[("POST", ENDPOINT)] = lambda seen: (next(answers), {}, {})
    pooled = lean(_transport(endpoint.url, retry={"backoff_factor": 0}))
    pooled.emit(_event())  # two 503s, then delivered, as the retry policy says
    assert len(endpoint.requests("POST", ENDPOINT)) == 3
    with pytest.raises(EndpointRefused, match="400"):
        pooled.emit(_event())


def test_a_redirect_is_followed_as_openlineages_transport_follows_it(endpoint: Recorder) -> None:
    """``requests`` turns a POST answered 302 into a GET of the new place; urllib3 would post
    again. The pooled transport hands such an answer to OpenLineage's own transport."""
    endpoint.routes[("POST", ENDPOINT)] = lambda seen: (302, b"", {"Location": "/moved"})
    endpoint.routes[("GET", "/moved")] = lambda seen: (200, {}, {})
    endpoint.routes[("POST", "/moved")] = lambda seen: (200, {}, {})
    own = _transport(endpoint.url, retry={"backoff_factor": 0})
    pooled = lean(_transport(endpoint.url, retry={"backoff_factor": 0}))
    assert isinstance(pooled, PooledHttpTransport)
    own.emit(_event())
    by_own = [(seen.method, seen.path) for seen in endpoint.seen]
    endpoint.seen.clear()
    pooled.emit(_event())
    by_pooled = [(seen.method, seen.path) for seen in endpoint.seen if seen.path != ENDPOINT]
    assert by_own == [("POST", ENDPOINT), ("GET", "/moved")]
    assert by_pooled == by_own[1:]


@attr.define
class _NewerConfig(HttpTransport.config_class):
    """A configuration with a setting a newer client might add, which the pool does not read."""

    signing_key: str | None = None


def test_openlineages_own_transport_stays_where_the_two_could_differ(
    endpoint: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = [
        _transport("https://lineage.example.invalid"),
        _transport(endpoint.url, ssl_context={"caCertPath": "/etc/ssl/certs/ca.pem"}),
        HttpTransport(HttpTransport.config_class(url=endpoint.url, session=requests.Session())),
        HttpTransport(_NewerConfig(url=endpoint.url, signing_key="k")),
    ]
    for transport in kept:
        assert lean(transport) is transport
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example.invalid:3128")
    proxied = _transport(endpoint.url)
    assert lean(proxied) is proxied
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert isinstance(lean(_transport(endpoint.url)), PooledHttpTransport)
    assert isinstance(lean(HttpTransport(_NewerConfig(url=endpoint.url))), PooledHttpTransport)


def test_conveyors_client_sends_through_the_pool(endpoint: Recorder, tmp_path: Path) -> None:
    transport = json.dumps({"type": "http", "url": endpoint.url})
    home = str(tmp_path)
    settings = load_config({"CONVEYOR_HOME": home}, home=home, openlineage_transport=transport)
    client = make_client(read(settings.settings, environ={}))
    assert isinstance(client.transport, PooledHttpTransport)
    client.emit(_event())
    assert len(endpoint.requests("POST", ENDPOINT)) == 1


def test_the_environment_is_read_only_for_the_variables_named(
    endpoint: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each event once walked the whole environment, racing a try's end taking its
    variables out; a client that names none reads none, one that names some sends them."""
    monkeypatch.setenv("TEAM", "data")
    transport = {"type": "http", "url": endpoint.url}
    naming = client.make({"transport": transport, "facets": {"environment_variables": ["TEAM"]}})
    plain = client.make({"transport": transport})

    def walked(self: Any) -> Any:
        raise AssertionError("the environment was walked")

    naming.emit(_event())
    with monkeypatch.context() as walking:
        walking.setattr(type(os.environ), "items", walked)
        plain.emit(_event())
    named, unnamed = endpoint.requests("POST", ENDPOINT)
    facet = named.json()["run"]["facets"]["environmentVariables"]
    assert facet["environmentVariables"] == [{"name": "TEAM", "value": "data"}]
    assert "environmentVariables" not in unnamed.json()["run"].get("facets", {})
