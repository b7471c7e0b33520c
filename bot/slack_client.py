"""Slack Web API clients as the bot uses them: our base URL, retries on 429 and on
dropped connections, and a cached answer to "which language does this person read?"."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from bot.i18n import pick_locale
from bot.settings import Settings

log = logging.getLogger(__name__)


def retry_handlers(rate_limit_retries: int = 2) -> list:
    # 429: wait Retry-After and try again; a dropped connection: once more.
    return [
        RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        ConnectionErrorRetryHandler(),
    ]


def web_client(
    settings: Settings, token: str | None = None, rate_limit_retries: int = 2
) -> WebClient:
    return WebClient(
        token=token if token is not None else (settings.slack_bot_token or None),
        base_url=settings.slack_api_url,
        retry_handlers=retry_handlers(rate_limit_retries),
        timeout=10,
    )


def job_client(settings: Settings) -> WebClient:
    """Jobs fan out to thousands and must ride out a burst of 429s: they wait each
    Retry-After and go on, many times over (a person waiting on an answer would not)."""
    return web_client(settings, rate_limit_retries=20)


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
        if pick_locale(stored, None, ""):
            return pick_locale(stored, None, self.default)
        return pick_locale(None, self._slack_locale(client, user_id), self.default)

    def _slack_locale(self, client: WebClient, user_id: str) -> str | None:
        key = (client.token or "", user_id)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit and now - hit[0] < self.ttl:
                return hit[1]
        try:
            response = client.users_info(user=user_id, include_locale=True)
            locale = (response.get("user") or {}).get("locale")
        except SlackApiError as exc:
            log.warning("users.info for %s failed: %s", user_id, exc.response.get("error"))
            return None
        with self._lock:
            self._cache[key] = (now, locale)
        return locale
