"""The ASGI app `prm serve` runs: Slack's endpoint, the OAuth install, a health check, and
the integration API (docs/api.md) with its OpenAPI document at /api/v1/openapi.json.

Bolt's dispatch is synchronous (it waits for the listener's ack, then returns while the
listener goes on in Bolt's worker threads), so it runs in Starlette's thread pool and
never blocks the event loop.

The app is a list of routers, one per surface, each built from what it needs. Another
surface (say, tracked content links) is one more `build_…_router(...)` in `_routers`; a
route meant for browsers or Slack rather than integrators should say
`include_in_schema=False` so that the OpenAPI document stays the API's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from bot.api import OPENAPI_PATH, build_router
from bot.app import INSTALL_PATH, REDIRECT_PATH, settings_clock
from bot.content import links as content_links
from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)


def database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:  # any driver error means "not reachable" to a load balancer
        log.warning("health check: database unreachable (%s)", type(exc).__name__)
        return False


def build_slack_router(bolt: App, engine: Engine) -> APIRouter:
    """Slack's endpoint, the OAuth install and redirect, and /healthz; none in the schema."""
    router = APIRouter(include_in_schema=False)

    @router.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        bolt_response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    @router.get(INSTALL_PATH)
    async def slack_install(request: Request) -> Response:
        if bolt.oauth_flow is None:
            return Response("OAuth install is not configured", status_code=404)
        flow = bolt.oauth_flow
        result = await run_in_threadpool(flow.handle_installation, to_bolt_request(request, b""))
        return to_starlette_response(result)

    @router.get(REDIRECT_PATH)
    async def slack_oauth_redirect(request: Request) -> Response:
        if bolt.oauth_flow is None:
            return Response("OAuth install is not configured", status_code=404)
        flow = bolt.oauth_flow
        result = await run_in_threadpool(flow.handle_callback, to_bolt_request(request, b""))
        return to_starlette_response(result)

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        ok = await run_in_threadpool(database_ok, engine)
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "database": "ok" if ok else "unreachable"},
            status_code=200 if ok else 503,
        )

    return router


def _routers(
    bolt: App, engine: Engine, settings: Settings, clock: Callable[[], datetime]
) -> list[APIRouter]:
    return [
        build_slack_router(bolt, engine),
        build_router(settings, engine, clock),
        content_links.build_router(settings, engine, clock),
    ]


def create_web_app(
    bolt: App,
    engine: Engine,
    settings: Settings | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The whole HTTP surface on one app.

    `settings` defaults to the configured ones (`get_settings()`, as `prm serve` reads
    them); `clock` to `settings_clock(settings)` (PRM_AS_OF, else the real time).
    """
    settings = settings if settings is not None else get_settings()
    clock = clock or settings_clock(settings)
    app = FastAPI(
        title="PRM integration API",
        version="1",
        summary="Partner events and entities in, process KPIs out (docs/api.md).",
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_PATH,
    )
    for router in _routers(bolt, engine, settings, clock):
        app.include_router(router)
    return app
