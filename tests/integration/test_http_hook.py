"""``HttpHook`` called in this process against a real server on a loopback port: what it
sends and what it returns, in the cases the DAG-file test does not reach."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import http_servers
import pytest
from http_servers import Answer, Recorder, Seen

from conveyor.exceptions import AirflowException
from conveyor.providers.http.client import HttpStatusError
from conveyor.providers.http.hook import HttpHook


def _digest(seen: Seen) -> Answer:
    """Challenge once; then a Digest answer for the connection's login passes."""
    given = seen.headers.get("authorization", "")
    if given.startswith("Digest ") and 'username="robot"' in given:
        return 200, "digested", {}
    challenge = 'Digest realm="api", nonce="0123456789abcdef", qop="auth"'
    return 401, b"", {"WWW-Authenticate": challenge}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Recorder]:
    routes = {
        ("POST", "/v1/echo"): lambda seen: (200, seen.json(), {}),
        ("HEAD", "/v1/echo"): lambda seen: (200, b"", {"X-Seen": "yes"}),
        ("GET", "/v1/old"): lambda seen: (302, b"", {"Location": "/v1/new"}),
        ("GET", "/v1/new"): lambda seen: (200, "moved here", {}),
        ("GET", "/v1/gone"): lambda seen: (410, "gone", {}),
        ("GET", "/v1/digest"): _digest,
    }
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    for recorder in http_servers.serve(Recorder(routes=routes)):  # type: ignore[arg-type]
        base = recorder.url.replace("http://", "http://robot:pw-1234@") + "/v1"
        monkeypatch.setenv("CONVEYOR_CONN_API", base + "?X-Tenant=acme")
        monkeypatch.setenv("CONVEYOR_CONN_LENIENT", base + "?check_response=false")
        yield recorder


def test_json_bodies_heads_and_redirects(api: Recorder) -> None:
    hook = HttpHook(http_conn_id="api")
    echoed = hook.run("echo", json={"a": [1, 2]}, headers={"X-Trace": "t"})
    assert echoed.json() == {"a": [1, 2]} and echoed.status_code == 200
    (seen,) = api.requests("POST", "/v1/echo")
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["x-tenant"] == "acme" and seen.headers["x-trace"] == "t"
    auth = base64.b64encode(b"robot:pw-1234").decode()
    assert seen.headers["authorization"] == f"Basic {auth}"

    head = HttpHook("HEAD", http_conn_id="api").run("echo")
    assert head.headers["x-seen"] == "yes" and head.text == ""
    moved = HttpHook("GET", http_conn_id="api").run("old")
    assert moved.text == "moved here" and moved.url.endswith("/v1/new")
    kept = HttpHook("GET", http_conn_id="api").run("old", extra_options={"allow_redirects": False})
    assert kept.status_code == 302 and kept.ok  # a redirect is not an error


def test_an_error_status_raises_unless_the_check_is_off(api: Recorder) -> None:
    with pytest.raises(AirflowException) as raised:
        HttpHook("GET", http_conn_id="api").run("gone")
    assert isinstance(raised.value, HttpStatusError)
    assert str(raised.value).startswith("410:Gone") and "'api'" in str(raised.value)
    assert "pw-1234" not in str(raised.value)
    gone = HttpHook("GET", http_conn_id="lenient").run("gone")
    assert gone.status_code == 410 and not gone.ok
    with pytest.raises(HttpStatusError, match=r"^410:Gone"):
        gone.raise_for_status()


def test_requests_auth_classes_stand_for_httpx_ones(api: Recorder) -> None:
    requests_auth = pytest.importorskip("requests.auth")
    digest = HttpHook("GET", http_conn_id="api", auth_type=requests_auth.HTTPDigestAuth)
    assert digest.run("digest").text == "digested"
    assert [s.headers.get("authorization", "")[:7] for s in api.seen] == ["", "Digest "]
    basic = HttpHook("POST", http_conn_id="api", auth_type=requests_auth.HTTPBasicAuth)
    basic.run("echo", json={})
    assert api.seen[-1].headers["authorization"].startswith("Basic ")


def test_get_conn_is_a_client_on_the_base_url(api: Recorder) -> None:
    with HttpHook(http_conn_id="api").get_conn(headers={"X-Trace": "c"}) as client:
        answer = client.post("echo", json={"b": 1})
    assert answer.json() == {"b": 1}
    seen = api.seen[-1]
    assert seen.path == "/v1/echo" and seen.headers["x-trace"] == "c"
    assert seen.headers["x-tenant"] == "acme" and seen.headers["authorization"].startswith("Basic")


def test_options_written_as_text_in_the_extra_are_read(
    api: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"{api.url}/v1?allow_redirects=false&timeout=5"
    monkeypatch.setenv("CONVEYOR_CONN_TEXTUAL", uri)
    kept = HttpHook("GET", http_conn_id="textual").run("old")
    assert kept.status_code == 302 and kept.headers["location"] == "/v1/new"
    assert "allow_redirects" not in api.seen[-1].headers  # options are not headers


def test_a_redirect_to_another_origin_carries_none_of_the_connections_headers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The attack: a server the connection points at redirects to another origin, and the
    hook sent the connection's extra headers (``X-Api-Key``) and login there too."""
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    landing = Recorder(routes={("GET", "/land"): lambda seen: (200, "landed", {})})
    for other in http_servers.serve(landing):  # type: ignore[arg-type]
        away = f"{other.url}/land"
        routes = {
            ("GET", "/v1/away"): lambda seen, to=away: (302, b"", {"Location": to}),
            ("GET", "/v1/near"): lambda seen: (302, b"", {"Location": "/v1/here"}),
            ("GET", "/v1/here"): lambda seen: (200, "here", {}),
        }
        for api in http_servers.serve(Recorder(routes=routes)):  # type: ignore[arg-type]
            base = api.url.replace("http://", "http://robot:pw-1234@") + "/v1"
            monkeypatch.setenv("CONVEYOR_CONN_KEYED", base + "?X-Api-Key=k-Zq81secret")
            moved = HttpHook("GET", http_conn_id="keyed").run("away")
            assert moved.text == "landed"
            (seen,) = other.requests("GET", "/land")
            assert "x-api-key" not in seen.headers and "authorization" not in seen.headers
            # The same origin keeps them.
            assert HttpHook("GET", http_conn_id="keyed").run("near").text == "here"
            (kept,) = api.requests("GET", "/v1/here")
            assert kept.headers["x-api-key"] == "k-Zq81secret"
