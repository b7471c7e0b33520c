"""Tracked content links, the web side: `GET {PRM_PUBLIC_URL}/c/<token>` counts a
download, then redirects.

The token, its signature and the robot list are bot.domain.links'; what a followed link
writes is bot.domain.content's. This module only answers the request: the router and its
small HTML pages.

Each GET of a valid link records one `content.downloaded` event (every click counts).
HEAD, and GETs from link previewers, crawlers and other robots (`is_robot`), answer the
same way but record nothing. A database that cannot be read or written gets a 503 page,
never a bare 500. See docs/content.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from html import escape as html_escape
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.domain.content import record_download, resolve_download
from bot.domain.links import is_robot, read_token
from bot.store.engine import describe_problem, unavailable

if TYPE_CHECKING:
    from bot.core.settings import Settings

log = logging.getLogger(__name__)

# `:path` so that anything under /c/ (a token with a stray slash, say) gets our 404 page.
LINK_PATH = "/c/{token:path}"
_NO_STORE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token never leaks to the asset's host
    "X-Robots-Tag": "noindex, nofollow",
}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<title>{title}</title></head>
<body style="font-family: sans-serif; margin: 3em auto; max-width: 36em; color: #333">
<h1 style="font-size: 1.4em">{title}</h1><p>{text}</p></body></html>
"""


def _page(status: int, title: str, text: str) -> HTMLResponse:
    body = _PAGE.format(title=html_escape(title), text=html_escape(text))
    return HTMLResponse(body, status_code=status, headers=_NO_STORE)


def not_found_page() -> HTMLResponse:
    return _page(
        404,
        "This link is not valid",
        "The link may have been changed or the content removed. "
        "Ask for the content again with /prm content in Slack.",
    )


def links_off_page() -> HTMLResponse:
    return _page(
        503,
        "Content links are switched off",
        "Content links are not set up on this server yet. Please tell your partner manager.",
    )


def unavailable_page() -> HTMLResponse:
    page = _page(
        503,
        "Please try again in a few minutes",
        "The content library cannot be reached right now. The link itself is fine: "
        "open it again later.",
    )
    page.headers["Retry-After"] = "60"
    return page


def error_page() -> HTMLResponse:
    return _page(
        500,
        "Something went wrong",
        "The link could not be opened. Please try again later, or tell your partner manager.",
    )


def is_preview(request: Request) -> bool:
    """HEAD, or a robot's GET: answer it, but it is not a download."""
    return request.method != "GET" or is_robot(request.headers.get("user-agent"))


def build_router(settings: Settings, engine: Engine, clock: Callable[[], datetime]) -> APIRouter:
    """`GET/HEAD /c/{token}`: count the download (GET only), then 302 to the asset."""
    router = APIRouter()

    # A plain `def`: FastAPI runs it in the thread pool, so the database never blocks the loop.
    @router.api_route(LINK_PATH, methods=["GET", "HEAD"], include_in_schema=False)
    def follow_link(token: str, request: Request) -> Response:
        secret = settings.secret_key
        if not secret:
            return links_off_page()
        keys = read_token(secret, token)
        if keys is None:
            return not_found_page()
        rep_key, asset_key = keys
        try:
            if is_preview(request):
                url = resolve_download(engine, rep_key, asset_key)
            else:
                url = record_download(engine, rep_key, asset_key, clock())
        except SQLAlchemyError as exc:
            if unavailable(exc):
                # One line, no token (it is a personal link) and no traceback.
                log.warning("tracked link: database unavailable (%s)", describe_problem(exc))
                return unavailable_page()
            log.exception("tracked link: database error")
            return error_page()
        if url is None:
            return not_found_page()
        return RedirectResponse(url, status_code=302, headers=_NO_STORE)

    return router
