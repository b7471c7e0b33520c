"""The ASGI app `prm serve` runs: Slack's endpoint, the OAuth install and a health check.

Bolt's dispatch is synchronous (it waits for the listener's ack, then returns while the
listener goes on in Bolt's worker threads), so it runs in Starlette's thread pool and
never blocks the event loop.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from bot.app import INSTALL_PATH, REDIRECT_PATH

log = logging.getLogger(__name__)


def database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:  # any driver error means "not reachable" to a load balancer
        log.warning("health check: database unreachable (%s)", type(exc).__name__)
        return False


def create_web_app(bolt: App, engine: Engine) -> FastAPI:
    api = FastAPI(title="PRM", docs_url=None, redoc_url=None, openapi_url=None)

    @api.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        bolt_response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    @api.get(INSTALL_PATH)
    async def slack_install(request: Request) -> Response:
        if bolt.oauth_flow is None:
            return Response("OAuth install is not configured", status_code=404)
        flow = bolt.oauth_flow
        result = await run_in_threadpool(flow.handle_installation, to_bolt_request(request, b""))
        return to_starlette_response(result)

    @api.get(REDIRECT_PATH)
    async def slack_oauth_redirect(request: Request) -> Response:
        if bolt.oauth_flow is None:
            return Response("OAuth install is not configured", status_code=404)
        flow = bolt.oauth_flow
        result = await run_in_threadpool(flow.handle_callback, to_bolt_request(request, b""))
        return to_starlette_response(result)

    @api.get("/healthz")
    async def healthz() -> JSONResponse:
        ok = await run_in_threadpool(database_ok, engine)
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "database": "ok" if ok else "unreachable"},
            status_code=200 if ok else 503,
        )

    return api
