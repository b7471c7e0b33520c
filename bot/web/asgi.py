"""The ASGI app `prm serve` runs: Slack's endpoint, the OAuth install, a health check, and
the integration API (docs/api.md) with its OpenAPI document at /api/v1/openapi.json.

`POST /slack/events` checks a request before Bolt sees it, in this order, each step before
anything reads further (docs/deploy.md, "The Slack endpoint"):

1. a declared Content-Length over `MAX_SLACK_BODY_BYTES` → 413, nothing read;
2. signature headers missing or malformed, or a timestamp outside Slack's five-minute
   window → 401, nothing read;
3. the body, read in chunks and counted (a chunked body declares no length) → 413 as soon
   as it passes the limit;
4. the v0 HMAC of Slack's signing secret over `v0:<timestamp>:<body>` → 401 when wrong;
5. only then is the body decoded and parsed (UTF-8, JSON or a form, one object whose
   fields Bolt reads have the right types, `payload_problem`) → 400 when it is not a
   Slack payload.

No refusal logs the body or a traceback. Bolt verifies the signature again (harmless).

Bolt's dispatch is synchronous (it waits for the listener's ack, then returns while the
listener goes on in Bolt's worker threads), so it runs in Starlette's thread pool and
never blocks the event loop.

The app is a list of routers, one per surface, each built from what it needs. Another
surface (say, tracked content links) is one more `build_…_router(...)` in `_routers`; a
route meant for browsers or Slack rather than integrators should say
`include_in_schema=False` so that the OpenAPI document stays the API's.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.error import BoltError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from bot.core.settings import Settings, get_settings
from bot.handlers.app import INSTALL_PATH, REDIRECT_PATH, settings_clock
from bot.store.engine import describe_problem, read_every_table, tables_without_insert
from bot.store.schema import bot_table_names
from bot.web import links as content_links
from bot.web.api import OPENAPI_PATH, build_router

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
# Slack's payloads are a few kilobytes (a modal's state, a message's blocks); 1 MB ("SI",
# a million bytes) leaves room for any of them and bounds what an unsigned request costs.
MAX_SLACK_BODY_BYTES = 1_000_000
SIGNATURE_WINDOW_SECONDS = 5 * 60  # Slack's own rule: older (or later) requests are replays
_TIMESTAMP_HEADER = "x-slack-request-timestamp"
_SIGNATURE_HEADER = "x-slack-signature"
_SIGNATURE_LENGTH = len("v0=") + 64
# Tables that prm db upgrade creates for slack-sdk's OAuth stores (read only with OAuth on).
OAUTH_TABLES = ("slack_installations", "slack_bots", "slack_oauth_states")


class BodyTooLarge(Exception):
    """The request body passed its limit while being read."""


def _refuse(status: int, message: str, reason: str) -> JSONResponse:
    """An error answer for Slack's endpoint; the log line gives the reason, never the body."""
    log.info("slack endpoint: %s %s", status, reason)
    return JSONResponse({"error": message}, status_code=status)


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, counted while it streams in; BodyTooLarge past `limit` bytes."""
    received = bytearray()
    async for chunk in request.stream():
        if len(received) + len(chunk) > limit:
            raise BodyTooLarge
        received += chunk
    return bytes(received)


def fresh_timestamp(value: str | None, now: float) -> bool:
    """An integer number of seconds within Slack's five-minute window of `now`."""
    if not value or len(value) > 15 or not value.isascii() or not value.isdigit():
        return False
    return abs(now - int(value)) <= SIGNATURE_WINDOW_SECONDS


def signature_shaped(value: str | None) -> bool:
    return (
        value is not None
        and len(value) == _SIGNATURE_LENGTH
        and value.startswith("v0=")
        and all(c in "0123456789abcdef" for c in value[3:])
    )


def signature_valid(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Slack's v0 scheme over the raw bytes (no decoding first), compared in constant time."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii"))


# The parts of a payload that Bolt's middleware and matchers (and our listeners) read
# without checking their type; a signed payload whose parts have other types is malformed.
_TEXT_FIELDS = (
    "type",
    "callback_id",
    "command",
    "text",
    "user_id",
    "team_id",
    "channel_id",
    "enterprise_id",
    "trigger_id",
    "api_app_id",
    "token",
)
_OBJECT_OR_ID_FIELDS = ("team", "user", "enterprise", "channel", "container", "message")
_EVENT_TEXT_FIELDS = ("type", "tab", "subtype", "thread_ts")
_EVENT_IDS = ("user", "channel")  # an id, or an object (user_change, channel_created)
_ACTION_TEXT_FIELDS = ("type", "action_id", "block_id")
_VIEW_TEXT_FIELDS = ("type", "id", "callback_id", "private_metadata")


def _texts(obj: dict, fields: tuple[str, ...]) -> bool:
    return all(isinstance(obj[f], str) for f in fields if obj.get(f) is not None)


def _is_http_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://")) and " " not in value


def payload_problem(body: dict) -> str | None:
    """What makes a (verified) payload unusable, or None: the types of the fields that Bolt
    and the listeners rely on (`event` an object, `actions` a list of objects, …)."""
    if not _texts(body, _TEXT_FIELDS):
        return "a text field is not text"
    if not all(
        body[f] is None or isinstance(body[f], dict | str)
        for f in _OBJECT_OR_ID_FIELDS
        if f in body
    ):
        return "an object field is neither an object nor an id"
    event = body.get("event")
    if event is not None and not (
        isinstance(event, dict)
        and _texts(event, _EVENT_TEXT_FIELDS)
        and all(event.get(f) is None or isinstance(event[f], dict | str) for f in _EVENT_IDS)
    ):
        return "event is not an event object"
    actions = body.get("actions")
    if actions is not None and not (
        isinstance(actions, list)
        and all(isinstance(a, dict) and _texts(a, _ACTION_TEXT_FIELDS) for a in actions)
    ):
        return "actions is not a list of action objects"
    if body.get("type") == "block_actions" and not all(
        isinstance(a.get("action_id"), str) for a in actions or ()
    ):
        return "a block action without an action_id"
    view = body.get("view")
    if view is not None and not (
        isinstance(view, dict)
        and isinstance(view.get("type"), str)
        and _texts(view, _VIEW_TEXT_FIELDS)
        and isinstance(view.get("state", {}), dict)
    ):
        return "view is not a view object"
    authorizations = body.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        return "authorizations is not a list of objects"
    if "response_url" in body and not _is_http_url(body["response_url"]):
        return "response_url is not an http(s) URL"
    urls = body.get("response_urls")
    if urls is not None and not (
        isinstance(urls, list)
        and all(isinstance(u, dict) and _is_http_url(u.get("response_url")) for u in urls)
    ):
        return "response_urls is not a list of response URLs"
    return None


def slack_request(request: Request, body: bytes) -> tuple[BoltRequest | None, str]:
    """Bolt's request for a verified body; or None and why when it is not a Slack payload:
    not UTF-8, malformed JSON or form, not one object, or parts of the wrong type."""
    try:
        bolt_request = to_bolt_request(request, body)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, BoltError):
        # UnicodeDecodeError and JSONDecodeError are ValueErrors; the others come from
        # Bolt reading ids out of a body that is not shaped like a payload.
        return None, "not UTF-8 JSON or form data of a payload"
    if not isinstance(bolt_request.body, dict):
        return None, "not one object"
    problem = payload_problem(bolt_request.body)
    return (None, problem) if problem else (bolt_request, "")


def bot_tables(oauth: bool) -> list[str]:
    """What the bot reads and writes: every table of bot.store.tables, and the OAuth stores."""
    tables = bot_table_names()
    return tables + list(OAUTH_TABLES) if oauth else tables


def database_status(engine: Engine, tables: Iterable[str]) -> str:
    """`ok`; `unreachable` (no connection); or `unreadable`: connected, but one of `tables`
    cannot be read (privileges revoked, a table missing, a file that is not a database) or,
    on PostgreSQL, not written to (INSERT revoked; checked without writing)."""
    names = list(tables)
    try:
        conn = engine.connect()
    except Exception as exc:  # any driver error means "not reachable" to a load balancer
        log.warning("health check: database unreachable (%s)", describe_problem(exc))
        return "unreachable"
    try:
        with conn:
            read_every_table(conn, names)
            refused = tables_without_insert(conn, names)
            if refused:
                log.warning("health check: no INSERT privilege on %s", ", ".join(refused))
                return "unreadable"
        return "ok"
    except Exception as exc:
        log.warning("health check: cannot read the tables (%s)", describe_problem(exc))
        return "unreadable"


def build_slack_router(bolt: App, engine: Engine, settings: Settings) -> APIRouter:
    """Slack's endpoint, the OAuth install and redirect, and /healthz; none in the schema.

    The endpoint checks signatures with the secret Bolt was built with (Bolt checks them
    again with it), else the one in `settings`; `settings` also says whether OAuth is on
    (the health check then reads the OAuth tables too).
    """
    router = APIRouter(include_in_schema=False)
    secret = getattr(bolt, "_signing_secret", None) or settings.slack_signing_secret
    health_tables = bot_tables(settings.oauth_enabled)

    @router.post(SLACK_EVENTS_PATH)
    async def slack_events(request: Request) -> Response:
        if not secret:
            return _refuse(503, "the Slack endpoint is not configured", "no signing secret")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_SLACK_BODY_BYTES:
            return _refuse(413, "request body too large", f"declared {declared} bytes")
        timestamp = request.headers.get(_TIMESTAMP_HEADER, "")
        signature = request.headers.get(_SIGNATURE_HEADER, "")
        if not fresh_timestamp(timestamp, time.time()):
            return _refuse(401, "invalid request", "missing, malformed or stale timestamp")
        if not signature_shaped(signature):
            return _refuse(401, "invalid request", "missing or malformed signature")
        try:
            body = await read_capped(request, MAX_SLACK_BODY_BYTES)
        except BodyTooLarge:
            return _refuse(413, "request body too large", "body over the limit")
        except ClientDisconnect:
            return _refuse(400, "incomplete request", "client disconnected")
        if not signature_valid(secret, timestamp, body, signature):
            return _refuse(401, "invalid request", "bad signature")
        bolt_request, problem = slack_request(request, body)
        if bolt_request is None:
            return _refuse(400, "malformed request body", f"signed body: {problem}")
        bolt_response = await run_in_threadpool(bolt.dispatch, bolt_request)
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
        status = await run_in_threadpool(database_status, engine, health_tables)
        ok = status == "ok"
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "database": status},
            status_code=200 if ok else 503,
        )

    return router


def _routers(
    bolt: App, engine: Engine, settings: Settings, clock: Callable[[], datetime]
) -> list[APIRouter]:
    return [
        build_slack_router(bolt, engine, settings),
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
        # No 307 from /path/ to /path: Starlette builds that Location from the Host header,
        # which the client chooses. A path with a stray slash is a plain 404.
        redirect_slashes=False,
    )
    for router in _routers(bolt, engine, settings, clock):
        app.include_router(router)
    return app
