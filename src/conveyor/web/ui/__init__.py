"""The web UI: server-rendered pages (Jinja2) that JavaScript keeps live from the JSON API.

Pages never import DAG files: they show what the store holds (serialized DAGs, runs,
tries), the same data the API serves, so a broken DAG file cannot break a page.
``mount_ui`` is the one entry point; the app factory calls it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from conveyor.config import Settings
from conveyor.web.dag_access import HiddenPage
from conveyor.web.ui.rendering import Renderer

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "mount_ui"]


def mount_ui(app: FastAPI, settings: Settings) -> None:
    """Serve the pages and ``/static`` on ``app``; links and assets carry ``base_url``."""
    from conveyor.web.ui.admin import router as admin_router
    from conveyor.web.ui.assets import router as assets_router
    from conveyor.web.ui.page import ADMIN_TABS, NAV  # complete once every page is imported
    from conveyor.web.ui.pages import router  # the pages need the auth module, built with the app
    from conveyor.web.ui.required_actions import router as required_actions_router
    from conveyor.web.ui.system import router as system_router
    from conveyor.web.ui.tokens import router as tokens_router
    from conveyor.web.ui.versions import router as versions_router

    renderer = Renderer(settings, TEMPLATES_DIR)
    renderer.templates.env.globals["nav_entries"] = NAV
    renderer.templates.env.globals["admin_tabs"] = ADMIN_TABS
    # The plugins' external_views (web/plugin_apps.py), after Conveyor's own entries.
    renderer.templates.env.globals["external_views"] = getattr(app.state, "external_views", [])
    app.state.ui = renderer
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(versions_router)  # before the DAG tabs' /dags/{dag_id}/{tab}
    app.include_router(router)
    app.include_router(tokens_router)
    app.include_router(admin_router)
    app.include_router(system_router)
    app.include_router(assets_router)
    app.include_router(required_actions_router)

    @app.exception_handler(HiddenPage)
    async def hidden_page(request: Request, exc: HiddenPage) -> Response:
        context = {"user": exc.user, "message": str(exc)}
        return renderer.render(request, "not_found.html", context, status_code=404)
