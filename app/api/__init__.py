"""The HTTP service: `create_app(settings)` builds the FastAPI app (routes under `/v1`,
web pages, `/metrics`); `minutekeeper serve` runs it on uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from minutekeeper.core.settings import Settings
    from minutekeeper.runtime import Runtime


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """The app; `runtime` (tests) replaces the one built from `settings`."""
    from fastapi import FastAPI

    from minutekeeper.api import authn, errors, idempotency, limits, pages, telemetry
    from minutekeeper.api.routes import (
        admin,
        attributions,
        compose,
        consent,
        exports,
        health,
        jobs,
        meetings,
        search,
    )
    from minutekeeper.api.sessions import SessionPolicy
    from minutekeeper.core.settings import Settings
    from minutekeeper.runtime import Runtime

    built = runtime or Runtime.build(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built.start()
        try:
            yield
        finally:
            built.stop()

    app = FastAPI(
        title="minutekeeper",
        version="0.1.0",
        description=(
            "Meeting transcripts, summaries and drafted messages, with a consent gate that "
            "decides what may be kept as training data. Send `Authorization: Bearer <token>` "
            '(`minutekeeper tokens create`). Errors: `{"error": {"code", "message"}}`.'
        ),
        lifespan=lifespan,
        docs_url=None,  # served below from local files: Swagger UI's default is a CDN
        redoc_url=None,
        responses={
            401: {"model": errors.ErrorModel, "description": "No valid token."},
            422: {"model": errors.ErrorModel, "description": "Invalid request."},
        },
    )
    app.state.runtime = built
    errors.install(app)
    for router in (
        health.router,
        consent.router,
        attributions.router,
        admin.router,
        admin.audit_router,
        meetings.router,
        search.router,
        jobs.router,
        compose.router,
        exports.router,
    ):
        app.include_router(router, responses=errors.COMMON_RESPONSES)
    pages.install(app)
    _install_docs(app)
    # Outermost last: metrics see every answer, limits cut bodies before anything reads them.
    app.add_middleware(idempotency.IdempotencyMiddleware, engine=lambda: built.engine)
    app.add_middleware(
        authn.AuthenticationMiddleware,
        engine=lambda: built.engine,
        policy=SessionPolicy.from_settings(built.settings),
    )
    app.add_middleware(
        limits.BodyLimit,
        upload_max=built.settings.upload_max_bytes,
        upload_paths=("/v1/meetings",),
    )
    app.add_middleware(telemetry.MetricsMiddleware, telemetry=built.telemetry)
    return app


def _install_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from files this server serves itself (no CDN on an offline
    install). They come from fastapi-offline, which ships Swagger UI 5, the first to read
    the OpenAPI 3.1 that FastAPI publishes (Swagger UI 4 shows "Unable to render this
    definition")."""
    from importlib.resources import files

    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    assets = files("fastapi_offline") / "static"
    app.mount("/docs-assets", StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="minutekeeper API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
            # No badge image from validator.swagger.io: nothing loads from another host.
            swagger_ui_parameters={"validatorUrl": None},
        )
