"""A plugin's FastAPI app, root middleware and external view, in Airflow's spelling, served
by Conveyor's web server from the plugins folder (setting ``web_plugins``); with the setting
off, the web server imports nothing of the folder."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import make_settings
from conveyor.config import Settings
from conveyor.store import schema
from conveyor.store.engine import Store
from conveyor.web import accounts
from conveyor.web.app import create_app

PLUGIN = """
    from pathlib import Path

    from fastapi import FastAPI
    from starlette.middleware.base import BaseHTTPMiddleware

    from airflow.plugins_manager import AirflowPlugin

    Path(@MARKER@).write_text("imported")

    hello = FastAPI()


    @hello.get("/ping")
    def ping():
        return {"pong": True}


    class Stamp(BaseHTTPMiddleware):
        def __init__(self, app, word):
            super().__init__(app)
            self.word = word

        async def dispatch(self, request, call_next):
            response = await call_next(request)
            response.headers["X-Plugin-Stamp"] = self.word
            return response


    class WebPlugin(AirflowPlugin):
        name = "web_plugin"
        fastapi_apps = [
            {"app": hello, "url_prefix": "/hello", "name": "Hello"},
            {"app": hello, "url_prefix": "/api/stolen", "name": "Stealing Conveyor's path"},
        ]
        fastapi_root_middlewares = [
            {"middleware": Stamp, "args": [], "kwargs": {"word": "stamped"}, "name": "Stamp"}
        ]
        external_views = [
            {"name": "Team wiki", "href": "https://wiki.example/team", "category": "Docs"},
            {"name": "Bad link", "href": "javascript:alert(1)"},
        ]
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = Store(f"sqlite:///{tmp_path / 'conveyor.db'}")
    schema.migrate(made)
    try:
        yield made
    finally:
        made.dispose()
        sys.modules.pop("web_plugin", None)


def _settings(tmp_path: Path, store: Store, **overrides: object) -> Settings:
    settings = make_settings(tmp_path, tmp_path / "dags", store.url, **overrides)
    settings.plugins_path.mkdir(parents=True, exist_ok=True)
    marker = tmp_path / "imported.txt"
    plugin = textwrap.dedent(PLUGIN).replace("@MARKER@", repr(str(marker)))
    (settings.plugins_path / "web_plugin.py").write_text(plugin)
    (settings.plugins_path / "needs_lib.py").write_text("import a_library_nobody_installed\n")
    return settings


def test_a_plugins_app_middleware_and_menu_link_are_served(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, store)
    accounts.create_user(store, "op", "op", "op-secret-1")
    token = accounts.create_token(store, "op", "test")
    app = create_app(settings, Store(store.url))
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
            ping = client.get("/hello/ping")
            page = client.get("/")
            stolen = client.get("/api/stolen/ping")
            errors = client.get("/api/v2/plugins/importErrors")
    finally:
        app.state.store.dispose()
    assert ping.status_code == 200 and ping.json() == {"pong": True}
    assert ping.headers["X-Plugin-Stamp"] == "stamped"  # the root middleware sees all
    assert page.headers["X-Plugin-Stamp"] == "stamped"
    assert page.status_code == 200
    assert 'href="https://wiki.example/team"' in page.text and "Team wiki" in page.text
    assert "javascript:alert" not in page.text  # refused, and said so
    assert stolen.status_code != 200  # Conveyor's own path stays Conveyor's
    assert "'web_plugin': an entry of fastapi_apps was left out" in caplog.text
    assert "is Conveyor's own" in caplog.text
    assert "'web_plugin': an entry of external_views was left out" in caplog.text
    # A module that failed when the web server imported the folder: in /api/v2's errors.
    assert errors.status_code == 200, errors.text
    by_source = {e["source"]: e["error"] for e in errors.json()["import_errors"]}
    assert "a_library_nobody_installed" in by_source["$PLUGINS_FOLDER/needs_lib.py"]


def test_without_web_plugins_the_web_server_imports_no_plugin(tmp_path: Path, store: Store) -> None:
    settings = _settings(tmp_path, store, web_plugins=False)
    app = create_app(settings, Store(store.url))
    try:
        with TestClient(app) as client:
            assert client.get("/hello/ping").status_code == 404
    finally:
        app.state.store.dispose()
    assert not (tmp_path / "imported.txt").exists()
