"""Tracked content links: `GET {PRM_PUBLIC_URL}/c/<token>` counts a download, then redirects.

A token names one rep and one asset and is signed with `PRM_SECRET_KEY`:

    v1.<base64url(JSON {"r": rep_key, "a": asset_key})>.<base64url(HMAC-SHA256)>

The MAC covers `v1.<payload>` (the version is signed too) and is checked in constant time;
base64url is unpadded and must be canonical, so changing any character of a token, or
signing with another secret, makes it invalid. The payload is signed, not encrypted: the
keys are readable by whoever holds the link. Tokens do not expire (a link in an old DM
keeps working); rotating `PRM_SECRET_KEY` revokes every link at once.

Each GET of a valid link records one `content.downloaded` event (every click counts).
HEAD, and GETs from link previewers, crawlers and other robots (`is_robot`), answer the
same way but record nothing. A database that cannot be read or written gets a 503 page,
never a bare 500. See docs/content.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape as html_escape
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError

from bot.core import events
from bot.store.engine import describe_problem, unavailable
from bot.store.tables import Asset, Event, PartnerUser

if TYPE_CHECKING:
    from bot.core.settings import Settings

log = logging.getLogger(__name__)

VERSION = "v1"
DOWNLOAD_EVENT = events.DOWNLOAD
# `:path` so that anything under /c/ (a token with a stray slash, say) gets our 404 page.
LINK_PATH = "/c/{token:path}"
# Longer than any token for 128-character keys; anything longer is refused unread.
MAX_TOKEN_LENGTH = 1024

# User agents that fetch a link to preview, index, scan or prefetch it, not because a person
# opened it: answered like everyone, never counted. Matched as case-insensitive substrings
# of the User-Agent header. Keep the list in step with docs/content.md and with the real
# user-agent strings in tests/domain/test_content.py; add a name there when a new one shows up.
ROBOT_AGENTS: tuple[str, ...] = (
    # Slack: the link expander (Slackbot-LinkExpanding, Slackbot 1.0) and its image proxy.
    "slackbot",
    "slack-imgproxy",
    # Chat and social previews (iMessage and Signal borrow Facebook's and WhatsApp's).
    "facebookexternalhit",
    "facebookcatalog",
    "facebot",
    "meta-externalagent",
    "meta-externalfetcher",
    "twitterbot",
    "linkedinbot",
    "discordbot",
    "telegrambot",
    "whatsapp",
    "skypeuripreview",
    "pinterestbot",
    "redditbot",
    "mattermost-bot",
    "embedly",
    "iframely",
    "vkshare",
    # Microsoft: Teams and Outlook previews, Office apps probing a link before opening it.
    "microsoftpreview",
    "bingpreview",
    "ms-office",
    "msoffice",
    "microsoft office",
    "microsoft-webdav",
    # Google's previewers, proxies and fetchers besides Googlebot.
    "google-pagerenderer",
    "googleimageproxy",
    "google favicon",
    "google-inspectiontool",
    "google-safety",
    "google-read-aloud",
    "googleother",
    "feedfetcher-google",
    "adsbot-google",
    "mediapartners-google",
    "apis-google",
    # Search engines, archives, SEO and AI crawlers.
    "googlebot",
    "bingbot",
    "msnbot",
    "duckduckbot",
    "yandexbot",
    "baiduspider",
    "applebot",
    "petalbot",
    "seznambot",
    "ia_archiver",
    "archive.org_bot",
    "semrushbot",
    "ahrefsbot",
    "mj12bot",
    "dotbot",
    "bytespider",
    "gptbot",
    "chatgpt-user",
    "oai-searchbot",
    "claudebot",
    "claude-user",
    "perplexitybot",
    "ccbot",
    "amazonbot",
    # Headless browsers: screenshot services, scanners, prerenderers.
    "headlesschrome",
    "phantomjs",
    "lighthouse",
)
# What robots not in the list share: a versioned product ending in "bot" (`Somebot/1.0`,
# never a browser's; a phone model such as "CUBOT P30" has no slash), the words crawler,
# spider and scraper anywhere, or a contact URL (`+http://…/bot.html`).
_ROBOT_PATTERN = re.compile(r"bot/|crawler|spider|scraper|\+https?:", re.IGNORECASE)
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


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """Unpadded base64url; None unless `text` is the canonical encoding of its bytes."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Canonical only: the unused low bits of the last character must be zero, or two
    # spellings of one token would both be valid.
    return data if _b64encode(data) == text else None


def _mac(secret: str, signed: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), signed.encode("ascii"), hashlib.sha256).digest()


def make_token(secret: str, rep_key: str, asset_key: str) -> str:
    """A URL-safe token for (rep, asset), signed with `secret`. Raises if secret is empty."""
    if not secret:
        raise ValueError("PRM_SECRET_KEY is not set: tracked links are off")
    body = json.dumps({"r": rep_key, "a": asset_key}, ensure_ascii=False, separators=(",", ":"))
    signed = f"{VERSION}.{_b64encode(body.encode('utf-8'))}"
    return f"{signed}.{_b64encode(_mac(secret, signed))}"


def read_token(secret: str, token: str) -> tuple[str, str] | None:
    """(rep_key, asset_key) if `token` was made by `make_token` with this secret, else None."""
    if not secret or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        return None
    mac = _b64decode(parts[2])
    expected = _mac(secret, f"{parts[0]}.{parts[1]}")
    if mac is None or not hmac.compare_digest(mac, expected):
        return None
    raw = _b64decode(parts[1])
    if raw is None:
        return None
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    rep_key, asset_key = body.get("r"), body.get("a")
    if not isinstance(rep_key, str) or not isinstance(asset_key, str):
        return None
    if not rep_key or not asset_key:
        return None
    return rep_key, asset_key


def tracked_url(public_url: str, secret: str, rep_key: str, asset_key: str) -> str:
    """`{public_url}/c/{token}`: the link to show `rep_key` for `asset_key`."""
    return f"{public_url.rstrip('/')}/c/{make_token(secret, rep_key, asset_key)}"


def is_link_target(url: str | None) -> bool:
    """Whether an asset's URL can be linked and redirected to: absolute http(s) only."""
    if not url or not url.strip():
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


@dataclass(frozen=True)
class _Target:
    user_id: int
    partner_id: int
    url: str


def _resolve(conn: Connection, rep_key: str, asset_key: str) -> _Target | None:
    rep = conn.execute(
        select(PartnerUser.id, PartnerUser.partner_id).where(PartnerUser.key == rep_key)
    ).first()
    if rep is None:
        return None
    url = conn.execute(select(Asset.url).where(Asset.key == asset_key)).scalar_one_or_none()
    if not is_link_target(url):
        return None
    return _Target(user_id=rep.id, partner_id=rep.partner_id, url=url.strip())


def resolve_download(engine: Engine, rep_key: str, asset_key: str) -> str | None:
    """The asset's URL if the link would work (known rep, known asset with a URL); no write."""
    with engine.connect() as conn:
        target = _resolve(conn, rep_key, asset_key)
    return target.url if target else None


def record_download(engine: Engine, rep_key: str, asset_key: str, now: datetime) -> str | None:
    """Record one `content.downloaded` for the rep and asset at `now`; the asset's URL.

    Unknown rep, unknown asset, or an asset without an http(s) URL: None, nothing written.
    One transaction; the `partner_first_event` rollup is kept by the database's trigger.
    """
    with engine.begin() as conn:
        target = _resolve(conn, rep_key, asset_key)
        if target is None:
            return None
        conn.execute(
            insert(Event).values(
                event_id=f"click-{uuid.uuid4()}",
                occurred_at=now,
                type=DOWNLOAD_EVENT,
                partner_id=target.partner_id,
                user_id=target.user_id,
                object_key=asset_key,
            )
        )
    return target.url


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


def is_robot(user_agent: str | None) -> bool:
    """Whether this User-Agent is a link previewer, crawler or other robot (see ROBOT_AGENTS).

    No User-Agent at all counts as a robot too: every browser sends one.
    """
    agent = (user_agent or "").strip().lower()
    if not agent:
        return True
    return any(name in agent for name in ROBOT_AGENTS) or bool(_ROBOT_PATTERN.search(agent))


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
