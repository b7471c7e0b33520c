"""Pacing the jobs' Web API calls to Slack's published limits, per workspace.

Slack limits each Web API method per app per workspace by *tier* (docs.slack.dev,
"Rate limits"): Tier 2 20+ calls a minute, Tier 3 50+, Tier 4 100+, with bursts
tolerated; `chat.postMessage` is special, about one message a second per channel. A fan-out
to thousands of reps that ignores this runs into 429s and then waits out each
Retry-After. Instead, each job client holds one token bucket per method tier (and per
channel for posts) and waits *before* a call that would exceed it. The 429 handler stays
as the safety net for limits Slack does not publish (the workspace-wide post limit).

A client belongs to one workspace (bot.slack.client.Clients builds one per team), so the
buckets are per workspace too. The clock and the sleep are injected: tests never wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

# Slack's tier of each method the bot calls (the method's reference page says which).
METHOD_TIERS: dict[str, int] = {
    "auth.test": 4,
    "users.info": 4,
    "conversations.open": 3,
    "conversations.info": 3,
    "conversations.create": 2,
    "conversations.inviteShared": 2,
    "chat.update": 3,
    "chat.postEphemeral": 4,
    "views.publish": 4,
    "views.open": 4,
    "views.update": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}
# (calls per minute, burst): the tier's published floor, and as burst one minute's worth
# of it (Slack counts per minute): a run of a few dozen calls never waits, a fan-out to
# thousands settles at the published rate.
TIER_LIMITS: dict[int, tuple[float, float]] = {
    1: (1, 1),
    2: (20, 20),
    3: (50, 50),
    4: (100, 100),
}
POST_PER_CHANNEL = (60.0, 3.0)  # chat.postMessage: one a second per channel, short bursts
DEFAULT_TIER = 3  # a method not listed: assume Tier 3


@dataclass
class Bucket:
    """`rate` tokens a second up to `capacity`; `take` says how long to wait for one."""

    rate: float
    capacity: float
    tokens: float | None = None  # None: never used, full
    at: float = 0.0

    def take(self, now: float) -> float:
        if self.tokens is None:
            self.tokens, self.at = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class Pacer:
    """The buckets of one workspace. `wait(method, channel)` blocks until the call fits."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock, self.sleep = clock, sleep
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting, for the run's report and the tests

    def _bucket(self, key: str, per_minute: float, burst: float) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(per_minute / 60.0, burst)
        return bucket

    def delay(self, method: str, channel: str | None = None) -> float:
        """Reserve the call now; how long to wait before making it."""
        with self._lock:
            if method == "chat.postMessage":
                key, (per_minute, burst) = f"post:{channel or ''}", POST_PER_CHANNEL
            else:
                tier = METHOD_TIERS.get(method, DEFAULT_TIER)
                key, (per_minute, burst) = f"tier:{tier}", TIER_LIMITS[tier]
            return self._bucket(key, per_minute, burst).take(self.clock())

    def wait(self, method: str, channel: str | None = None) -> None:
        pause = self.delay(method, channel)
        if pause > 0:
            self.waited += pause
            self.sleep(pause)


def _channel(kwargs: dict[str, Any]) -> str | None:
    for key in ("json", "data", "params"):
        body = kwargs.get(key)
        if isinstance(body, dict) and body.get("channel"):
            return str(body["channel"])
    return None


class PacedWebClient(WebClient):
    """A WebClient that waits for its workspace's buckets before every call."""

    def __init__(self, *args: Any, pacer: Pacer | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pacer = pacer or Pacer()

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        self.pacer.wait(api_method, _channel(kwargs))
        return super().api_call(api_method, **kwargs)
