"""The API's documentation page ``/docs``: Swagger UI served from the app's own vendored copy
(``api/static/vendor/swagger-ui``, npm package ``swagger-ui-dist``), so that it renders in a
closed network, under the same Content-Security-Policy as every page (no inline script)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.headers import page_response
from api.routers.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs(request: Request) -> Response:
    app = request.app
    page = render("docs.html", title=f"{app.title} – API", openapi_url=app.openapi_url)
    return page_response(page, tile_url=None)
