"""``conveyor web``: serve the web UI and the REST API."""

from __future__ import annotations

import threading
from typing import Any

import click

from conveyor.cli.common import console, open_store, settings
from conveyor.config import Settings
from conveyor.store import users as user_rows
from conveyor.store.engine import Store


def make_server(config: Settings, store: Store, host: str, port: int) -> Any:
    """A uvicorn server for the app; ``forwarded_allow_ips`` trusts only a local proxy."""
    import uvicorn

    from conveyor.web.app import create_app

    app = create_app(config, store)
    return uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=True,
            # As Airflow's API server; uvicorn's own are 5 s and no limit.
            timeout_keep_alive=config.web_timeout_seconds,
            timeout_graceful_shutdown=config.web_timeout_seconds,
        )
    )


def serve_in_thread(server: Any) -> threading.Thread:
    """Run ``server`` beside the caller (``standalone``); stop it with ``server.should_exit``."""
    thread = threading.Thread(target=server.run, name="conveyor-web", daemon=True)
    thread.start()
    return thread


def web_url(config: Settings, host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{shown}:{port}{config.base_url}/"


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
def web_command(host: str, port: int) -> None:
    """Serve the web UI and the REST API (/api/v1) until stopped."""
    config = settings()
    store = open_store(config)
    with store.read() as conn:
        has_users = bool(user_rows.list_users(conn))
    console.print(f"web: {web_url(config, host, port)}  (store {store.describe()})")
    if not has_users:
        console.print(
            "no users yet: create one with `conveyor users create NAME --role admin`",
            markup=False,
        )
    make_server(config, store, host, port).run()
