"""The Slack app end to end: the real ASGI app under uvicorn on 127.0.0.1, signed
requests over HTTP, and the fake Slack Web API (tests/slackfake.py) on the other side.

The world: a program of four partners with two managers, one CS, reps in English and
Japanese, and a stranger. The clock is frozen at AS_OF; nothing depends on today.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from bot.core.settings import Settings
from bot.handlers.app import build_app
from bot.web.asgi import create_web_app
from tests.builders import Store
from tests.slackfake import FakeSlack

SECRET = "test-signing-secret"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)

ADMIN = "UADMIN"
MANAGER = "UMGR1"  # manages acme and globex
MANAGER_2 = "UMGR2"  # manages initech
CS = "UCS1"  # looks after acme and initech
REP_EN = "UREPEN"  # acme-alice, English
REP_JA = "UREPJA"  # acme-kenji, stored locale ja
REP_OTHER = "UREPGX"  # globex-gina
STRANGER = "USTRANGER"


def seed(engine: Engine) -> None:
    s = Store(engine)
    s.partner("acme", "2025-01-10", name="Acme Corp", manager=MANAGER, cs=CS, tier="gold")
    s.partner("globex", "2025-03-01", name="Globex", manager=MANAGER)
    s.partner("initech", "2025-06-01", name="Initech KK", manager=MANAGER_2, cs=CS)
    s.partner("umbrella", "2026-02-01", name="Umbrella", manager="UMGR9")
    s.user("acme-alice", "acme", "2025-01-15", name="Alice", slack_user_id=REP_EN, locale="en")
    s.user("acme-kenji", "acme", "2025-01-20", name="健二", slack_user_id=REP_JA, locale="ja")
    s.user("globex-gina", "globex", "2025-03-05", name="Gina", slack_user_id=REP_OTHER)
    s.user("initech-ivan", "initech", "2025-06-05", name="Ivan")
    s.user("umbrella-uma", "umbrella", "2026-02-05", name="Uma")
    s.asset("guide", "onboarding")
    s.events("lead.registered", ["2026-10-05T10:00:00Z"] * 12, "acme", "acme-alice")
    s.events("deal.registered", ["2026-10-06T10:00:00Z"] * 5, "acme", "acme-alice")
    s.event("user.login", "2025-02-01T09:00:00Z", "acme", "acme-kenji")
    s.event("content.downloaded", "2025-02-02T09:00:00Z", "acme", "acme-kenji", "guide")
    s.event("lead.registered", "2026-10-20T09:00:00Z", "acme", "acme-kenji")
    s.event("user.login", "2026-10-10T09:00:00Z", "globex", "globex-gina")
    s.event("deal.registered", "2026-09-10T09:00:00Z", "globex", "globex-gina")
    s.event("user.login", "2026-08-10T09:00:00Z", "initech", "initech-ivan")


def sign(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    """Slack's v0 scheme, written out here rather than borrowed from the SDK under test."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class SlackWorld:
    url: str
    fake: FakeSlack
    engine: Engine
    settings: Settings
    last_seconds: float = 0.0
    # One keep-alive connection for all of a test's requests, as Slack's own senders keep
    # theirs (`world` opens and closes it); None: a new connection per request.
    http: httpx.Client | None = None

    def post(self, body: str, content_type: str, headers: dict[str, str] | None = None):
        head = {"Content-Type": content_type, **(headers if headers is not None else sign(body))}
        client: Any = self.http or httpx
        return client.post(f"{self.url}/slack/events", content=body, headers=head, timeout=10)

    def command(self, user: str, text: str, **extra: str) -> tuple[httpx.Response, str]:
        response_url = self.fake.response_url()
        form = {
            "token": "legacy",
            "team_id": "T0001",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/prm",
            "text": text,
            "response_url": response_url,
            "trigger_id": "1.2.3",
            "channel_id": "C0001",
            **extra,
        }
        body = urlencode(form)
        return self.post(body, "application/x-www-form-urlencoded"), response_url

    def answer(self, user: str, text: str) -> dict[str, Any]:
        """Run a command and return what the app posted to that command's response_url."""
        started = time.monotonic()
        response, url = self.command(user, text)
        assert response.status_code == 200, response.text
        path = urlparse(url).path
        while True:
            calls = self.fake.calls_to("response_url")
            mine = [c for c in calls if c.url == path]
            if mine:
                self.last_seconds = time.monotonic() - started
                return mine[0].params
            self.fake.wait_for("response_url", count=len(calls) + 1, timeout=5, settle=False)

    def event(self, event: dict[str, Any]) -> httpx.Response:
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": "T0001",
                "api_app_id": "A0001",
                "type": "event_callback",
                "event_id": f"Ev{time.monotonic_ns()}",
                "event_time": 1,
                "event": event,
            }
        )
        return self.post(body, "application/json")

    def action(self, user: str, action_id: str, value: str) -> httpx.Response:
        payload = {
            "type": "block_actions",
            "team": {"id": "T0001"},
            "user": {"id": user},
            "api_app_id": "A0001",
            "trigger_id": "1.2.3",
            "container": {"type": "view", "view_id": "V1"},
            "view": {"id": "V1", "type": "home"},
            "actions": [
                {"action_id": action_id, "block_id": "b", "type": "button", "value": value}
            ],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded")


class _ListenerWork:
    """Bolt's listener executor, counting the work still running after an ack.

    Bolt acks a request, then runs its listener in a thread: the messages a click or a form
    owes go out there, and the ledger learns their `ts` only once Slack has answered. The
    fake records a call before it answers, so a test that has seen a card arrive could
    press "approve" a moment before the app has stored that card's `ts`; its update is then
    left to the retry worker, which `world` does not run. A person presses a button on a
    message they have seen: `world.fake.wait_for` also waits (for the work, not for time)
    until the app is done with what it was doing. Requests themselves are not held back, so
    replays and double clicks still arrive while the first is being handled."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self._running = 0
        self._cond = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._cond:
            self._running += 1
        try:
            future = self._executor.submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: Future | None) -> None:
        with self._cond:
            self._running -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._running == 0, timeout):
                raise AssertionError(f"the app's listeners still busy after {timeout} s")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._executor, name)


def _track_listener_work(bolt: Any) -> Callable[[], None] | None:
    """Put a _ListenerWork around the Bolt app's executor; its wait, or None when this
    Bolt keeps its executor elsewhere (then nothing is waited for)."""
    runner = getattr(bolt, "_listener_runner", None)
    executor = getattr(runner, "listener_executor", None)
    if executor is None:
        return None
    work = _ListenerWork(executor)
    runner.listener_executor = work
    lazy = getattr(runner, "lazy_listener_runner", None)
    if getattr(lazy, "executor", None) is executor:
        lazy.executor = work
    return work.wait_idle


class _PromptServer(uvicorn.Server):
    """uvicorn's server, stopping as soon as it is told to. uvicorn checks `should_exit`
    on a 0.1 s tick, then sleeps another 0.1 s for open connections to close, even when
    there are none: idle time at the end of every test that serves the app. This one is
    woken by the flag itself, and skips the drain when no connection is left (a test's
    requests have all been answered by then); with connections open it drains as uvicorn
    does."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    @property  # type: ignore[override]
    def should_exit(self) -> bool:
        return self.__dict__.get("_should_exit", False)

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self.__dict__["_should_exit"] = value
        loop, wake = self._loop, self._wake
        if value and loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.server_state.connections or self.server_state.tasks:
            await super().shutdown(sockets=sockets)
            return
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


def stop(server: uvicorn.Server, thread: threading.Thread) -> None:
    """Stop a `_serve`d server and wait for its thread (promptly: see _PromptServer)."""
    server.should_exit = True
    thread.join(timeout=5)
    assert not thread.is_alive(), "the test server did not stop"


def _serve(app: Any) -> tuple[str, uvicorn.Server, threading.Thread]:
    # Bind first: requests queue in the backlog until uvicorn accepts, so no start-up wait.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = _PromptServer(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token="xoxb-test") as slack:
        slack.add_user(ADMIN, locale="en-US")
        slack.add_user(MANAGER, locale="en-US")
        slack.add_user(MANAGER_2, locale="ja-JP", tz="Asia/Tokyo")
        slack.add_user(CS, locale="en-GB")
        slack.add_user(REP_EN, locale="ja-JP")  # stored locale (en) wins over Slack's
        slack.add_user(REP_JA, locale="en-US")  # stored locale (ja) wins over Slack's
        slack.add_user(REP_OTHER, locale="en-US")
        slack.add_user(STRANGER, locale="en-US")
        yield slack


def make_settings(db_url: str, fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "slack_bot_token": "xoxb-test",
        "slack_signing_secret": SECRET,
        "slack_api_url": fake.base_url,
        "admin_slack_ids": ADMIN,
        "default_locale": "en",
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def world(db_url: str, engine: Engine, fake: FakeSlack, seeded) -> Iterator[SlackWorld]:
    seeded(seed)
    settings = make_settings(db_url, fake)
    bolt = build_app(settings, engine, clock=lambda: AS_OF)
    fake.settle = _track_listener_work(bolt)
    url, server, thread = _serve(create_web_app(bolt, engine, settings, clock=lambda: AS_OF))
    with httpx.Client() as http:
        yield SlackWorld(url, fake, engine, settings, http=http)
    stop(server, thread)
    fake.settle = None
    fake.validate_payloads()  # every payload the app sent would pass Slack's checks
