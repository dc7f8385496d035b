"""The API's interactive docs (Swagger UI), served entirely by the app: no CDN.

Swagger UI's JavaScript and CSS come from the ``swagger-ui-py`` package's copy of the
``swagger-ui-dist`` assets, so the docs work on a machine without internet access. The
page's own start-up code is a file beside this module rather than an inline script, so it
passes the app's Content-Security-Policy.
"""

from __future__ import annotations

import importlib.resources
from html import escape
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from conveyor.web.deps import prefixed

#: The assets the page loads, by the name it asks for.
ASSETS = {
    "swagger-ui-bundle.js": "swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui.css",
    "favicon-32x32.png": "favicon-32x32.png",
}
INIT_JS = Path(__file__).parent / "init.js"


def _asset_path(name: str) -> Any:
    if name == "init.js":
        return INIT_JS
    if name not in ASSETS:
        raise HTTPException(404, f"no docs asset {name!r}")
    return importlib.resources.files("swagger_ui") / "static" / ASSETS[name]


def docs_router(prefix: str) -> APIRouter:
    """``{prefix}/docs`` and its assets under ``{prefix}/docs/assets/``."""
    router = APIRouter(include_in_schema=False)

    @router.get(f"{prefix}/docs", response_class=HTMLResponse)
    def docs_page(request: Request) -> HTMLResponse:
        asset = prefixed(request, f"{prefix}/docs/assets")
        openapi = escape(prefixed(request, f"{prefix}/openapi.json"))
        return HTMLResponse(
            f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="openapi-url" content="{openapi}">
  <title>Conveyor API</title>
  <link rel="icon" type="image/png" href="{asset}/favicon-32x32.png">
  <link rel="stylesheet" href="{asset}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{asset}/swagger-ui-bundle.js"></script>
  <script src="{asset}/init.js"></script>
</body>
</html>
"""
        )

    @router.get(f"{prefix}/docs/assets/{{name}}")
    def docs_asset(name: str) -> FileResponse:
        path = _asset_path(name)
        # Versioned with the package: a browser may keep them for a day.
        return FileResponse(str(path), headers={"Cache-Control": "public, max-age=86400"})

    return router
