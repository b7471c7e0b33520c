"""Tracked content links, the pure part: a signed token per (rep, asset), the link
that carries it, whether an asset's URL may be linked at all, and who is a robot.

A token names one rep and one asset and is signed with `PRM_SECRET_KEY`:

    v1.<base64url(JSON {"r": rep_key, "a": asset_key})>.<base64url(HMAC-SHA256)>

The MAC covers `v1.<payload>` (the version is signed too) and is checked in constant time;
base64url is unpadded and must be canonical, so changing any character of a token, or
signing with another secret, makes it invalid. The payload is signed, not encrypted: the
keys are readable by whoever holds the link. Tokens do not expire (a link in an old DM
keeps working); rotating `PRM_SECRET_KEY` revokes every link at once.

No web framework and no database here, so that the Slack side (which shows the links)
and the web side (which follows them, bot.web.links) share one definition without the
domain depending on the web. See docs/content.md.
"""

from __future__ import annotations

import json
import re
from typing import TypeGuard
from urllib.parse import urlsplit

from bot.core import events
from bot.core.signing import b64decode, b64encode, mac, mac_matches

VERSION = "v1"
DOWNLOAD_EVENT = events.DOWNLOAD
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


def make_token(secret: str, rep_key: str, asset_key: str) -> str:
    """A URL-safe token for (rep, asset), signed with `secret`. Raises if secret is empty."""
    if not secret:
        raise ValueError("PRM_SECRET_KEY is not set: tracked links are off")
    body = json.dumps({"r": rep_key, "a": asset_key}, ensure_ascii=False, separators=(",", ":"))
    signed = f"{VERSION}.{b64encode(body.encode('utf-8'))}"
    return f"{signed}.{b64encode(mac(secret, signed))}"


def read_token(secret: str, token: str) -> tuple[str, str] | None:
    """(rep_key, asset_key) if `token` was made by `make_token` with this secret, else None."""
    if not secret or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        return None
    if not mac_matches(secret, f"{parts[0]}.{parts[1]}", parts[2]):
        return None
    raw = b64decode(parts[1])
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


def is_link_target(url: str | None) -> TypeGuard[str]:
    """Whether an asset's URL can be linked and redirected to: absolute http(s) only."""
    if not url or not url.strip():
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def is_robot(user_agent: str | None) -> bool:
    """Whether this User-Agent is a link previewer, crawler or other robot (see ROBOT_AGENTS).

    No User-Agent at all counts as a robot too: every browser sends one.
    """
    agent = (user_agent or "").strip().lower()
    if not agent:
        return True
    return any(name in agent for name in ROBOT_AGENTS) or bool(_ROBOT_PATTERN.search(agent))
