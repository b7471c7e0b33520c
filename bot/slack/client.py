"""Slack Web API clients as the bot uses them: our base URL, retries that can never post
twice, and a cached answer to "which language does this person read?".

slack_sdk's `ConnectionErrorRetryHandler` repeats a request after a dropped connection or
a reset — also after Slack received a `chat.postMessage` and posted it, so one message
arrived three times. Ours repeats a request only when it cannot have reached Slack (the
connection was never made), or when repeating it is harmless (reads, `chat.update`).
Whether a failed post went out is the delivery ledger's question (bot/jobs/deliver.py).
"""

from __future__ import annotations

import http.client
import logging
import re
import threading
import time
from typing import cast
from urllib.error import HTTPError, URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient
from sqlalchemy import Engine

from bot.core.settings import Settings
from bot.slack.locale import pick_locale
from bot.store import teams

log = logging.getLogger(__name__)


# Methods that change nothing, or change it to the same end state when repeated.
SAFE_TO_REPEAT = frozenset(
    {
        "auth.test",
        "users.info",
        "conversations.open",
        "conversations.info",
        "chat.update",
        "views.publish",
        "files.getUploadURLExternal",
    }
)


class SafeConnectionRetryHandler(RetryHandler):
    """Once more after a connection failure, when that cannot duplicate anything: the
    connection was never made (urllib's URLError, raised before the request is sent), or
    the method is in SAFE_TO_REPEAT. A timeout or a dropped connection after a post is
    left to the caller, who records it as ambiguous."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if error is None or response is not None:
            return False
        if isinstance(error, URLError) and not isinstance(error, HTTPError):
            return True  # connect or send failed: Slack never had the request
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        return method in SAFE_TO_REPEAT and isinstance(error, OSError | http.client.HTTPException)


SLACK_ERROR_CODE = re.compile(r"^[a-z0-9_]{1,64}$")


def slack_error(exc: Exception) -> str:
    """Slack's error code, `http_<status>`, or what kept the request from Slack: short,
    and never the request itself (it may hold a token or a capability URL)."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        data = getattr(response, "data", None)
        error = str(data.get("error") or "") if isinstance(data, dict) else ""
        if SLACK_ERROR_CODE.match(error):
            return error
        status = http_status(exc)  # not Slack's answer: an outage page, a proxy
        return f"http_{status}" if status else "slack_error"
    if isinstance(exc, URLError) and not isinstance(exc, HTTPError):
        return f"unreachable:{type(exc.reason).__name__}"
    return type(exc).__name__


def http_status(exc: SlackApiError) -> int:
    """The HTTP status of a Slack answer (slack_sdk gives a plain dict for a non-JSON one)."""
    response = exc.response
    status = getattr(response, "status_code", None)
    if status is None and isinstance(response, dict):
        status = response.get("status")
    return int(status or 0)


def retry_handlers(rate_limit_retries: int = 2) -> list:
    # 429: Slack did nothing; wait Retry-After and try again. A failed connection: once
    # more, when that cannot post twice.
    return [
        RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        SafeConnectionRetryHandler(),
    ]


def web_client(
    settings: Settings,
    token: str | None = None,
    rate_limit_retries: int = 2,
    client_class: type[WebClient] = WebClient,
) -> WebClient:
    return client_class(
        token=token if token is not None else (settings.slack_bot_token or None),
        base_url=settings.slack_api_url,
        retry_handlers=retry_handlers(rate_limit_retries),
        # slack_sdk annotates `timeout` as int, but only hands it to urllib's `urlopen`,
        # which takes float seconds; the setting allows fractions (e.g. 2.5).
        timeout=cast(int, settings.slack_timeout_seconds),
    )


def job_client(settings: Settings, token: str | None = None) -> WebClient:
    """Jobs fan out to thousands: they pace themselves to Slack's published limits per
    workspace (bot.slack.pacing, unless PRM_SLACK_PACING is off), and still ride out a
    burst of 429s, waiting each Retry-After, many times over (a person waiting on an
    answer would not)."""
    if not settings.slack_pacing:
        return web_client(settings, token=token, rate_limit_retries=20)
    from bot.slack.pacing import PacedWebClient

    return web_client(settings, token=token, rate_limit_retries=20, client_class=PacedWebClient)


def webhook(url: str) -> WebhookClient:
    """A client for one response_url (slash-command answers)."""
    return WebhookClient(url, timeout=10, retry_handlers=retry_handlers())


class LocaleResolver:
    """Stored locale, else Slack's (users.info include_locale), else the default.

    Slack's answer is cached for an hour per user: App Home opens often, and a person's
    language rarely changes. A Slack error falls back to the default, never fails a reply.
    """

    TTL_SECONDS = 3600.0

    def __init__(self, default: str, ttl: float = TTL_SECONDS):
        self.default = default
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def locale_for(self, client: WebClient, user_id: str, stored: str | None) -> str:
        return pick_locale(stored, lambda: self.slack_locale(client, user_id), self.default)

    def slack_locale(self, client: WebClient, user_id: str) -> str | None:
        """What Slack says (users.info include_locale), cached; None when it cannot say."""
        key = (client.token or "", user_id)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit and now - hit[0] < self.ttl:
                return hit[1]
        try:
            response = client.users_info(user=user_id, include_locale=True)
            locale = (response.get("user") or {}).get("locale")
        except (SlackApiError, SlackClientError, OSError, http.client.HTTPException) as exc:
            # Slack unreachable or refusing: answer in the default language, not at all.
            log.warning("users.info for %s failed: %s", user_id, slack_error(exc))
            return None
        with self._lock:
            self._cache[key] = (now, locale)
        return locale


class Clients:
    """A Web API client for each workspace the bot sends to: the bot token for a single
    workspace, or each installation's own token (the OAuth install), looked up once.

    `for_team(None)` is the vendor's workspace: SLACK_BOT_TOKEN, else the vendor's own
    installation. A workspace the bot was removed from (`app_uninstalled`,
    `tokens_revoked`) gets no client at all, so nothing is sent there, nor retried."""

    def __init__(self, settings: Settings, engine: Engine):
        self.settings = settings
        self.engine = engine
        self._by_team: dict[str | None, WebClient | None] = {}
        self._lock = threading.Lock()

    def for_team(self, team_id: str | None) -> WebClient | None:
        with self._lock:
            if team_id in self._by_team:
                return self._by_team[team_id]
        client = self._build(team_id)
        if client is not None:  # a workspace not installed yet may be installed later
            with self._lock:
                self._by_team[team_id] = client
        return client

    def forget(self, team_id: str | None) -> None:
        with self._lock:
            self._by_team.pop(team_id, None)

    def vendor(self) -> WebClient | None:
        return self.for_team(None)

    def _build(self, team_id: str | None) -> WebClient | None:
        settings = self.settings
        with self.engine.connect() as conn:
            if team_id is not None:
                known = teams.team(conn, team_id)
                if known is not None and not known.installed:
                    # Removed from there (nothing goes out, nothing is retried), or a
                    # partner's workspace known only from Slack Connect: no token reaches it.
                    return None
            if settings.slack_bot_token and not (settings.oauth_enabled and team_id):
                return job_client(settings)
            if team_id is None:
                vendor = teams.vendor_team_ids(conn)
                if not vendor:
                    return None
                team_id = vendor[0]
            token = teams.bot_token(conn, team_id, settings.slack_client_id or None)
        if token:
            return job_client(settings, token=token)
        return job_client(settings) if settings.slack_bot_token else None
