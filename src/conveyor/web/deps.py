"""What every request handler reaches through the app: the settings and the store."""

from __future__ import annotations

from fastapi import Request

from conveyor.config import Settings
from conveyor.store.engine import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def prefixed(request: Request, path: str) -> str:
    """An app path as the browser must request it: with the proxy's prefix (``base_url``)."""
    return f"{get_settings(request).base_url}/{path.lstrip('/')}"
