"""The Jinja2 environment of the pages: the path prefix, the user, the CSRF token, filters.

Every URL a template writes goes through ``url()`` so that the app works under a path
prefix behind a reverse proxy (``base_url``), links and assets alike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from conveyor import __version__
from conveyor.config import Settings
from conveyor.web import auth
from conveyor.web.ui import rights, state_views


def _json_script(value: Any) -> Markup:
    """JSON safe to embed in a ``<script type="application/json">`` element."""
    text = json.dumps(value, default=str, separators=(",", ":"))  # no spaces: big pages
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


class Renderer:
    """Renders a page template with what the shell (``base.html``) needs."""

    def __init__(self, settings: Settings, templates_dir: Path) -> None:
        self.prefix = settings.base_url  # "" or "/prefix", normalised by Settings
        self.templates = Jinja2Templates(directory=str(templates_dir))
        env = self.templates.env
        env.globals["url"] = self.url
        env.globals["static"] = self.static
        env.globals["version"] = __version__
        env.filters["json_script"] = _json_script
        # The states' colours, labels and order, from conveyor/lifecycle.py (state_views).
        env.globals["state_css"] = Markup(state_views.state_css())
        env.globals["state_json"] = _json_script(state_views.state_json())
        env.globals["task_states"] = state_views.task_states()
        env.globals["run_states"] = state_views.run_states()
        env.globals["day_states"] = state_views.day_states()
        env.filters["state_label"] = state_views.state_label

    def url(self, path: str) -> str:
        """An app path as the browser must request it (with the proxy's prefix)."""
        return f"{self.prefix}/{path.lstrip('/')}"

    def static(self, path: str) -> str:
        # The version in the query string makes browsers fetch new assets after an upgrade.
        return f"{self.url('static/' + path.lstrip('/'))}?v={__version__}"

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        values: dict[str, Any] = {"user": None, "csrf_token": auth.csrf_token(request)}
        values.update(context or {})
        values["base"] = self.prefix
        user = values["user"]
        # Every page asks the API's per-DAG decision for the controls it offers.
        values["rights"] = rights.dag_rights(request, user if isinstance(user, auth.User) else None)
        values["role_labels"] = rights.role_labels(user) if isinstance(user, auth.User) else []
        return self.templates.TemplateResponse(request, name, values, status_code=status_code)
