"""Attacks on the web server from issue 14, each performed as described against a real app.

Strict JSON and no 5xx commits (4), bounded log tails (5), body and conf caps (14), security
headers (15), the session key (16), bad connection URIs (17), offline API docs (18).
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest
from api_helpers import PREFIX, World, fresh_fixture  # noqa: F401  (a fixture)
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_cli_web import conveyor, env  # noqa: F401  (env is a fixture)

from conveyor.config import Settings
from conveyor.exceptions import ConfigError
from conveyor.store import runs
from conveyor.store.tables import dag_run, task_instance, task_try
from conveyor.web.security import secret_key

JSON = {"Content-Type": "application/json"}
PASSWORD = "s3cret-pw"


def _run_count(world: World) -> int:
    with world.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(dag_run)).scalar_one())


# 4: strict JSON before anything is written; nothing committed by a 5xx ------------------


@pytest.mark.parametrize(
    "body",
    [b'{"conf": {"s": "\\ud800"}}', b'{"conf": {"x": NaN}}', b'{"conf": {"x": [Infinity]}}'],
)
def test_conf_that_is_not_strict_json_is_refused_and_run_lists_still_answer(
    fresh: World, body: bytes
) -> None:
    op = fresh.client("op")
    before = _run_count(fresh)

    answer = op.post("/api/v1/dags/pipeline/runs", content=body, headers=JSON)

    assert answer.status_code == 422, answer.text
    assert "surrogate" in answer.json()["detail"] or "not a JSON number" in answer.json()["detail"]
    assert _run_count(fresh) == before
    viewer = fresh.client("viewer")
    assert viewer.get("/api/v1/runs").status_code == 200
    assert viewer.get("/api/v1/dags/pipeline/runs").status_code == 200
    assert viewer.get("/").status_code == 200


def test_connection_extra_and_variable_with_a_lone_surrogate_are_refused(fresh: World) -> None:
    admin = fresh.client("admin")

    extra = admin.put(
        "/api/v1/connections/db",
        content=b'{"conn_type": "postgres", "host": "h", "extra": {"k": "\\udfff"}}',
        headers=JSON,
    )
    in_uri = admin.put(
        "/api/v1/connections/db",
        content=b'{"uri": "postgres://u@h/db?__extra__=%7B%22k%22%3A%20NaN%7D"}',
        headers=JSON,
    )
    variable = admin.put("/api/v1/variables/v", content=b'{"value": "a\\ud800"}', headers=JSON)

    assert extra.status_code == 422 and "extra" in extra.json()["detail"], extra.text
    assert in_uri.status_code == 422 and "extra.k" in in_uri.json()["detail"], in_uri.text
    assert variable.status_code == 422, variable.text
    assert admin.get("/api/v1/connections").json()["connections"] == []
    assert admin.get("/api/v1/variables").json()["variables"] == []


def test_a_request_that_fails_after_writing_commits_nothing(fresh: World) -> None:
    """The general rule: a handler's writes are committed with its response, below 500 only."""

    def trigger_then(fail: bool) -> dict[str, str]:
        with fresh.app.state.store.write() as conn:  # the app's store: the request's transaction
            runs.create_manual_run(conn, "pipeline", created_by="test", conf={})
        if fail:
            raise RuntimeError("crashed after the write")
        return {"ok": "yes"}

    fresh.app.add_api_route("/test-write-then-fail", lambda: trigger_then(True))
    fresh.app.add_api_route("/test-write-then-succeed", lambda: trigger_then(False))
    client = TestClient(fresh.app, raise_server_exceptions=False)
    before = _run_count(fresh)

    failed = client.get("/test-write-then-fail")
    assert failed.status_code == 500
    assert failed.headers["x-frame-options"] == "DENY"  # an error page is framed by no one
    assert _run_count(fresh) == before

    succeeded = client.get("/test-write-then-succeed")
    assert succeeded.status_code == 200
    assert _run_count(fresh) == before + 1
    client.close()


# 14: request body and conf size ---------------------------------------------------------


def test_large_bodies_and_confs_are_refused_and_lists_stay_small(fresh: World) -> None:
    op = fresh.client("op")
    before = _run_count(fresh)

    huge = op.post("/api/v1/dags/pipeline/runs", json={"conf": {"blob": "x" * (50 << 20)}})
    large_conf = op.post("/api/v1/dags/pipeline/runs", json={"conf": {"blob": "x" * (100 << 10)}})
    fine = op.post("/api/v1/dags/pipeline/runs", json={"conf": {"label": "x" * 1000}})
    # Sent in chunks, without a Content-Length: counted as it arrives.
    chunks = [b'{"conf": {"label": "', *[b"x" * (256 << 10)] * 8, b'"}}']
    chunked = op.post("/api/v1/dags/pipeline/runs", content=iter(chunks), headers=JSON)

    assert huge.status_code == 413, huge.text[:300]
    assert "max_request_bytes" in huge.json()["detail"]
    assert large_conf.status_code == 422, large_conf.text[:300]
    assert "max_conf_bytes" in large_conf.json()["detail"]
    assert fine.status_code == 201, fine.text[:300]
    assert chunked.status_code == 413, chunked.text[:300]
    assert _run_count(fresh) == before + 1
    assert len(op.get("/api/v1/runs?limit=1").content) < 64 << 10


# 5: a tail of a log of one huge line ----------------------------------------------------


def test_tail_of_a_60_mb_single_line_log_is_capped(fresh: World) -> None:
    run_id = fresh.run_ids["failing"]
    with fresh.store.read() as conn:
        log_path = conn.execute(
            select(task_try.c.log_path)
            .join(task_instance, task_instance.c.id == task_try.c.ti_id)
            .where(task_instance.c.task_id == "explode", task_try.c.try_number == 1)
        ).scalar_one()
    with open(log_path, "wb") as handle:
        handle.write(b"BEGIN" + b"x" * (60 << 20) + b"END\n")
    viewer = fresh.client("viewer")
    url = f"/api/v1/dags/failing/runs/{run_id}/tasks/explode/tries/1/log"

    tail = viewer.get(url, params={"tail": 10})
    head = viewer.get(url, params={"offset": 0, "limit": 1 << 20})

    assert tail.status_code == 200
    chunk = tail.json()
    assert len(chunk["text"].encode()) <= 1 << 20
    assert chunk["truncated"] is True
    assert chunk["text"].endswith("END\n") and "BEGIN" not in chunk["text"]
    assert chunk["size"] == (60 << 20) + 9 and chunk["offset"] == chunk["size"] - (1 << 20)
    assert len(head.json()["text"]) == 1 << 20 and head.json()["truncated"] is False
    short = viewer.get(url, params={"tail": 1})
    assert short.json()["truncated"] is True  # the last line alone is longer than the cap


# 15: security headers -------------------------------------------------------------------


def test_every_response_carries_the_security_headers(fresh: World) -> None:
    viewer = fresh.client("viewer")
    nobody = fresh.client()
    answers = [
        viewer.get("/"),
        viewer.get("/api/v1/runs"),
        viewer.get("/api/v1/dags/nope"),
        nobody.get("/login"),
        nobody.get("/api/v1/runs"),
        nobody.get("/static/conveyor.css"),
        nobody.get("/api/v1/docs"),
    ]
    for answer in answers:
        headers = answer.headers
        assert headers["x-frame-options"] == "DENY", answer.url
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"


def test_session_cookie_is_secure_over_https_only(fresh: World) -> None:
    def login_cookie(scheme: str) -> str:
        client = TestClient(fresh.app, base_url=f"{scheme}://testserver{PREFIX}")
        fresh.clients.append(client)
        form = client.get("/login")
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        answer = client.post(
            "/login",
            data={"username": "viewer", "password": "viewer-secret", "csrf_token": token},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        return answer.headers["set-cookie"]

    assert "secure" in login_cookie("https").lower()
    assert "secure" not in login_cookie("http").lower()


# 16: the session signing key ------------------------------------------------------------


def test_short_or_empty_secret_keys_are_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret_key").write_text("\n")
    with pytest.raises(ConfigError, match=r"secret_key.*0 bytes"):
        secret_key(Settings(home=home).resolved())
    with pytest.raises(ConfigError, match="the setting secret_key"):
        secret_key(Settings(home=home, secret_key="short").resolved())


def test_a_generated_key_is_long_private_and_stable(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home").resolved()

    first = secret_key(settings)

    path = tmp_path / "home" / "secret_key"
    assert len(first) == 64 and path.read_text().strip() == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secret_key(settings) == first
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temporary file left


# 17: odd connection URIs ----------------------------------------------------------------

BAD_URIS = [
    f"postgres://u:{PASSWORD}@h:notaport/db",
    f"://u:{PASSWORD}@h",
    f"postgres://u:{PASSWORD}@[::1/db",
    f"postgres://u:{PASSWORD}@h:99999/db",
    f"postgres://u:{PASSWORD}@h]:5432/db",
]


def test_bad_connection_uris_answer_422_with_the_password_masked(
    fresh: World, caplog: pytest.LogCaptureFixture
) -> None:
    admin = fresh.client("admin")
    caplog.set_level(logging.DEBUG)
    for uri in BAD_URIS:
        answer = admin.put("/api/v1/connections/db", json={"uri": uri})
        assert answer.status_code == 422, (uri, answer.text)
        assert PASSWORD not in answer.text and "***" in answer.text, answer.text
    assert PASSWORD not in caplog.text
    assert admin.get("/api/v1/connections").json()["connections"] == []


def test_bad_connection_uris_in_the_cli_are_errors_with_the_password_masked(
    env: dict[str, str],  # noqa: F811
) -> None:
    for uri in BAD_URIS:
        answer = conveyor(env, "connections", "add", "db", "--uri", uri)
        assert answer.returncode != 0, uri
        assert "Traceback" not in answer.stderr, answer.stderr
        assert PASSWORD not in answer.stdout + answer.stderr
        assert "***" in answer.stdout + answer.stderr, answer.stderr


# 18: API docs without a CDN -------------------------------------------------------------


def test_api_docs_reference_no_other_host_and_their_assets_are_served(fresh: World) -> None:
    client = fresh.client()

    page = client.get("/api/v1/docs")

    assert page.status_code == 200
    assert "//" not in page.text.replace("://", "")  # no protocol-relative URL either
    assert "http" not in page.text
    sources = [part.split('"')[0] for part in page.text.split('src="')[1:]]
    links = [part.split('"')[0] for part in page.text.split('href="')[1:]]
    assert sources and links
    for url in sources + links:
        assert url.startswith(f"{PREFIX}/api/v1/docs/assets/"), url
        asset = client.get(url.removeprefix(PREFIX))
        assert asset.status_code == 200, url
        assert len(asset.content) > 100
    bundle = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text and "javascript" in bundle.headers["content-type"]
    assert client.get("/api/v1/docs/assets/..%2fsecret_key").status_code == 404
    assert json.loads(client.get("/api/v1/openapi.json").text)["paths"]
