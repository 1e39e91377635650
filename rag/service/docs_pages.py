"""`/docs` (Swagger UI) and `/redoc` with their assets served by the service itself,
so the API docs work offline. FastAPI's own pages load Swagger UI and ReDoc from
a CDN; their bundles come here from the `fastapi-offline` package's static files
(Swagger UI 5, which reads OpenAPI 3.1; `swagger-ui-bundle` ships 4, which does not).

ReDoc's bundle shows its maker's logo from a CDN in the sidebar; it is served here
with that one address replaced by an empty inline image, so the docs make no
request beyond the service.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
PREFIX = "/docs-assets"
REDOC = "redoc.standalone.js"
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


def install(app: FastAPI) -> None:
    """The docs pages; `app` must be made with `docs_url=None, redoc_url=None`."""

    @app.get(f"{PREFIX}/{REDOC}", include_in_schema=False)
    def redoc_bundle() -> Response:
        return Response(redoc_script(), media_type="text/javascript")

    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")
    title = f"{app.title} API"
    openapi = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi,
            title=title,
            swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/favicon.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi,
            title=title,
            redoc_js_url=f"{PREFIX}/{REDOC}",
            redoc_favicon_url=f"{PREFIX}/favicon.png",
            with_google_fonts=False,
        )


@cache
def redoc_script() -> bytes:
    """ReDoc's bundle with its CDN logo replaced by an empty inline image."""
    text = (ASSETS / REDOC).read_text(encoding="utf-8")
    return text.replace(REDOC_LOGO, EMPTY_SVG).encode()
