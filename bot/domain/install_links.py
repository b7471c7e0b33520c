"""Partner install links, the pure part: a signed, expiring token naming one partner.

`prm partners install-link KEY` prints `{PRM_PUBLIC_URL}/slack/install?partner=<token>`;
whoever completes Slack's OAuth from it installs the bot in their workspace *for that
partner*: the installing workspace becomes the partner's (bot.handlers.install).

    i1.<base64url(JSON {"p": partner_key, "x": expiry, unix seconds})>.<base64url(HMAC)>

Signed with PRM_SECRET_KEY like the content links (bot.core.signing), under its own
version prefix, so a content link can never be used as an install link. The link is a
capability: it is printed for the person who asked, and never logged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from bot.core.signing import b64decode, b64encode, mac, mac_matches

VERSION = "i1"
MAX_TOKEN_LENGTH = 1024
DEFAULT_VALID = timedelta(days=7)
INSTALL_PATH = "/slack/install"


class InstallLinkError(ValueError):
    """Why a link cannot be used: `reason` is "invalid" or "expired"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class InstallLink:
    partner_key: str
    expires_at: datetime


def make_token(secret: str, partner_key: str, expires_at: datetime) -> str:
    if not secret:
        raise ValueError("PRM_SECRET_KEY is not set: install links cannot be signed")
    body = json.dumps(
        {"p": partner_key, "x": int(expires_at.timestamp())},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    signed = f"{VERSION}.{b64encode(body.encode('utf-8'))}"
    return f"{signed}.{b64encode(mac(secret, signed))}"


def read_token(secret: str, token: str, now: datetime) -> InstallLink:
    """The partner the token was made for; raises InstallLinkError."""
    if not secret or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise InstallLinkError("invalid")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise InstallLinkError("invalid")
    if not mac_matches(secret, f"{parts[0]}.{parts[1]}", parts[2]):
        raise InstallLinkError("invalid")
    raw = b64decode(parts[1])
    try:
        body = json.loads(raw.decode("utf-8")) if raw is not None else None
    except (UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, dict):
        raise InstallLinkError("invalid")
    key, expiry = body.get("p"), body.get("x")
    if not isinstance(key, str) or not key or not isinstance(expiry, int):
        raise InstallLinkError("invalid")
    expires_at = datetime.fromtimestamp(expiry, UTC)
    if expires_at <= now:
        raise InstallLinkError("expired")
    return InstallLink(key, expires_at)


def install_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{INSTALL_PATH}?partner={quote(token, safe='')}"
