"""A local fake of Slack's Web API and Socket Mode, for tests.

Like slack-sdk's and bolt-python's own test suites, this runs real servers on 127.0.0.1
(stdlib ``ThreadingHTTPServer`` for HTTP, ``websockets`` for Socket Mode) so the real
``WebClient``, ``WebhookClient`` and Socket Mode clients exercise their actual wire
formats, retries and error handling. Nothing in slack_sdk is mocked.

Typical use::

    with FakeSlack() as fake:
        client = WebClient(base_url=fake.base_url, token=fake.bot_token)
        client.chat_postMessage(channel="C1", text="hi")
        assert fake.calls_to("chat.postMessage")[0].params["text"] == "hi"
        fake.validate_payloads()
"""

from __future__ import annotations

import base64
import contextlib
import functools
import itertools
import json
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

# Form bodies carry these as JSON strings; tests want to look at them as data.
JSON_FIELDS = ("blocks", "view", "attachments")
MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update", "response_url")
VIEW_METHODS = ("views.publish", "views.open", "views.update", "views.push")
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3000


@dataclass
class Call:
    """One request the fake received, recorded before it was answered."""

    method: str
    params: dict
    token: str | None
    url: str
    team: str | None = None  # the workspace whose token authorised the call


@dataclass
class _Team:
    """A workspace the app is installed in: its bot token and bot user; `gone` is the
    error every call with its token gets after an uninstall or a revocation."""

    id: str
    name: str
    bot_token: str
    bot_user_id: str
    gone: str | None = None
    connect_error: str | None = None  # conversations.inviteShared refused with this


@dataclass
class _Channel:
    id: str
    team: str
    name: str
    is_private: bool
    members: set[str] = field(default_factory=set)
    ext_shared: bool = False


@dataclass
class _User:
    id: str
    name: str
    locale: str
    tz: str
    is_bot: bool
    deleted: bool
    team: str = ""
    email: str | None = None


@dataclass
class _File:
    id: str
    filename: str
    length: int
    data: bytes | None = None


@dataclass
class _Script:
    """A queued canned answer (error or 429) for the next calls of one method."""

    error: str
    retry_after: int | None = None  # set → HTTP 429
    times: int = 1
    status: int | None = None  # set → that HTTP status with an HTML body (an outage page)
    drop: bool = False  # handle the call, then close the connection without an answer


class _ApiError(Exception):
    """Raised by method handlers; becomes ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: dict, status: int = 200, **headers: str) -> _Reply:
        return cls(status, json.dumps(data).encode(), headers=headers)

    @classmethod
    def text(cls, text: str, status: int = 200) -> _Reply:
        return cls(status, text.encode(), "text/plain; charset=utf-8")


class FakeSlack:
    """Slack's Web API + Socket Mode on localhost; records every call for assertions."""

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B0001"
        self.app_id = "A0001"
        self.calls: list[Call] = []
        self.socket_messages: list[dict] = []  # everything Socket Mode clients sent us
        # One condition guards all mutable state, so waiters wake on any change.
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._users: dict[str, _User] = {}
        self._dms: dict[str, str] = {}  # user id -> DM channel id
        self._home_views: dict[str, str] = {}  # user id -> view id
        self._files: dict[str, _File] = {}
        self._response_paths: set[str] = set()
        self._tickets: set[str] = set()
        self._scripts: dict[str, list[_Script]] = {}
        self._holds: dict[str, list[tuple[threading.Event, threading.Event]]] = {}
        self._sockets: list[ServerConnection] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._wsd: Server | None = None
        self._down_port = 0
        self._threads: list[threading.Thread] = []
        # Set by a test harness that runs the app in-process: waits until the app is done
        # with the answers it got (see `wait_for`).
        self.settle: Callable[[], None] | None = None
        self.client_id = client_id
        self.client_secret = client_secret
        self._teams: dict[str, _Team] = {}
        self._channels: dict[str, _Channel] = {}
        self.invites: list[dict] = []
        self._codes: dict[str, tuple[str, str, str]] = {}  # code -> (team, name, installer)
        self._acting = threading.local()  # the team of the call being answered
        self._teams[team_id] = _Team(team_id, "Fake Team", bot_token, bot_user_id)
        self.add_user(bot_user_id, name="prm-bot", is_bot=True)

    # ---- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Bind both servers to random ports on 127.0.0.1 and serve in daemon threads."""
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._wsd = serve(
            self._serve_socket,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            compression=None,
            # Slack pings too. A short interval also wakes the builtin client's blocking
            # recv (3 s timeout), so SocketModeClient.close() returns promptly in tests.
            ping_interval=0.05,
            ping_timeout=None,
            close_timeout=1,  # stop() must not hang on a client that never closes back
        )
        # A short poll interval keeps stop() fast: shutdown() waits for the next poll.
        serve_http = functools.partial(self._httpd.serve_forever, poll_interval=0.02)
        for name, target in (("http", serve_http), ("ws", self._wsd.serve_forever)):
            thread = threading.Thread(target=target, daemon=True, name=f"fakeslack-{name}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Close live sockets first: websockets' per-connection threads are not daemons."""
        with self._cond:
            sockets = list(self._sockets)
            for queue in self._holds.values():
                for _, release in queue:
                    release.set()
        for conn in sockets:
            conn.close()
        if self._wsd is not None:
            self._wsd.shutdown()
            self._wsd = None
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "FakeSlack is not started"
        return self._httpd.server_address[1]

    @property
    def ws_port(self) -> int:
        assert self._wsd is not None, "FakeSlack is not started"
        return self._wsd.socket.getsockname()[1]

    @property
    def base_url(self) -> str:
        """WebClient joins the method name onto this, so it must end with a slash."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self) -> str:
        """A fresh response URL, as Slack puts in slash-command and interaction payloads."""
        path = f"/response/{self._next_id()}"
        with self._cond:
            self._response_paths.add(path)
        return f"http://127.0.0.1:{self.port}{path}"

    # ---- scripting -------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        locale: str = "en-US",
        tz: str = "UTC",
        name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        team_id: str | None = None,
        email: str | None = None,
    ) -> None:
        """Make ``users.info`` / ``conversations.open`` know this user, a member of
        `team_id` (default: the home team)."""
        ZoneInfo(tz)  # fail here, not inside a request handler, on a misspelt zone
        user = _User(
            user_id,
            name or f"user-{user_id.lower()}",
            locale,
            tz,
            is_bot,
            deleted,
            team_id or self.team_id,
            email,
        )
        with self._cond:
            self._users[user_id] = user

    def add_team(
        self,
        team_id: str,
        *,
        name: str | None = None,
        bot_token: str | None = None,
        bot_user_id: str | None = None,
    ) -> str:
        """Another workspace with the app installed: its own bot token (returned)."""
        token = bot_token or f"xoxb-{team_id.lower()}"
        with self._cond:
            existing = self._teams.get(team_id)
            if existing is not None:
                existing.gone = None
                return existing.bot_token
            self._teams[team_id] = _Team(
                team_id, name or team_id, token, bot_user_id or f"UBOT{team_id}"
            )
        return token

    def token_of(self, team_id: str) -> str:
        with self._cond:
            return self._teams[team_id].bot_token

    def uninstall(self, team_id: str) -> None:
        """The app was removed from the team: its token answers `account_inactive`."""
        with self._cond:
            self._teams[team_id].gone = "account_inactive"

    def revoke(self, team_id: str) -> None:
        """The team's bot token was revoked: it answers `token_revoked`."""
        with self._cond:
            self._teams[team_id].gone = "token_revoked"

    def connect_disabled(self, team_id: str | None = None, error: str = "team_not_paid") -> None:
        """Slack Connect refused for the team (a free plan, an admin's restriction): every
        conversations.inviteShared answers `error`."""
        with self._cond:
            self._teams[team_id or self.team_id].connect_error = error

    def issue_oauth_code(
        self, team_id: str, *, team_name: str | None = None, installer_user_id: str = "UINSTALLER"
    ) -> str:
        """The code Slack hands the browser after **Allow** in `team_id`; one use."""
        code = f"{self._next_id()}.{uuid.uuid4().hex[:12]}"
        with self._cond:
            self._codes[code] = (team_id, team_name or team_id, installer_user_id)
        return code

    def channel(self, channel_id: str) -> dict | None:
        with self._cond:
            ch = self._channels.get(channel_id)
            if ch is None:
                return None
            return {
                "id": ch.id,
                "team": ch.team,
                "name": ch.name,
                "is_private": ch.is_private,
                "members": sorted(ch.members),
                "is_ext_shared": ch.ext_shared,
            }

    def accept_invite(
        self, invite_id: str, user_id: str, team_id: str, *, name: str | None = None
    ) -> dict:
        """The invited person accepted: the inner `shared_channel_invite_accepted` event."""
        invite, ch = self._invite(invite_id)
        with self._cond:
            invite["status"] = "accepted"
            ch.members.add(user_id)
            ch.ext_shared = True
            host = self._teams[ch.team]
        person = {
            "id": user_id,
            "team_id": team_id,
            "name": name or f"user-{user_id.lower()}",
            "updated": 1_700_000_000,
            "profile": {"real_name": name or user_id, "team": team_id},
        }
        return {
            "type": "shared_channel_invite_accepted",
            "approval_required": False,
            "invite": self._invite_object(invite, host),
            "channel": {"id": ch.id, "is_private": ch.is_private, "is_im": False, "name": ch.name},
            "teams_in_channel": [{"id": ch.team, "name": host.name}, {"id": team_id}],
            "accepting_user": person,
            "event_ts": self._new_ts(),
        }

    def decline_invite(self, invite_id: str, user_id: str, team_id: str) -> dict:
        """The inner `shared_channel_invite_declined` event."""
        invite, ch = self._invite(invite_id)
        with self._cond:
            invite["status"] = "declined"
            host = self._teams[ch.team]
        return {
            "type": "shared_channel_invite_declined",
            "invite": self._invite_object(invite, host),
            "channel": {"id": ch.id, "is_private": ch.is_private, "is_im": False, "name": ch.name},
            "declining_user": {"id": user_id, "team_id": team_id, "name": user_id.lower()},
            "teams_in_channel": [{"id": ch.team, "name": host.name}],
            "event_ts": self._new_ts(),
        }

    def member_joined_event(
        self, channel_id: str, user_id: str, *, team_id: str | None = None, inviter: str = ""
    ) -> dict:
        """The inner `member_joined_channel` event."""
        with self._cond:
            ch = self._channels.get(channel_id)
            if ch is not None:
                ch.members.add(user_id)
            private = bool(ch and ch.is_private)
        return {
            "type": "member_joined_channel",
            "user": user_id,
            "channel": channel_id,
            "channel_type": "G" if private else "C",
            "team": team_id or self.team_id,
            "inviter": inviter,
            "event_ts": self._new_ts(),
        }

    def _invite(self, invite_id: str) -> tuple[dict, _Channel]:
        with self._cond:
            invite = next(i for i in self.invites if i["invite_id"] == invite_id)
            return invite, self._channels[invite["channel"]]

    def _invite_object(self, invite: dict, host: _Team) -> dict:
        return {
            "id": invite["invite_id"],
            "date_created": 1_700_000_000,
            "date_invalid": 1_701_209_600,
            "inviting_team": {"id": host.id, "name": host.name, "domain": host.id.lower()},
            "inviting_user": {"id": host.bot_user_id, "team_id": host.id, "name": "prm-bot"},
            "recipient_email": invite.get("email"),
            "recipient_user_id": invite.get("user_id"),
        }

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP 200 ``ok: false``."""
        with self._cond:
            self._scripts.setdefault(method, []).append(_Script(error, None, times))

    def server_error_next(self, method: str, status: int = 503, times: int = 1) -> None:
        """The next ``times`` calls answer an HTTP 5xx outage page (not JSON), as a load
        balancer in front of Slack does; whether the call took effect is unknown."""
        with self._cond:
            self._scripts.setdefault(method, []).append(
                _Script(f"http_{status}", None, times, status=status)
            )

    def drop_next(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls are carried out (a message is posted), then the
        connection is closed before the answer: the client cannot know it worked."""
        with self._cond:
            self._scripts.setdefault(method, []).append(_Script("", None, times, drop=True))

    def down(self) -> None:
        """Slack unreachable: the HTTP port stops listening (connections are refused)
        until `up()` listens on the same port again."""
        assert self._httpd is not None, "FakeSlack is not started"
        self._down_port = self.port
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None

    def up(self) -> None:
        assert self._httpd is None and self._down_port, "FakeSlack is not down"
        self._httpd = _HTTPServer(("127.0.0.1", self._down_port), _Handler)
        self._httpd.fake = self
        serve_http = functools.partial(self._httpd.serve_forever, poll_interval=0.02)
        thread = threading.Thread(target=serve_http, daemon=True, name="fakeslack-http")
        thread.start()
        self._threads.append(thread)

    def rate_limit_next(self, method: str, retry_after: int = 0, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP 429 with ``Retry-After``."""
        with self._cond:
            self._scripts.setdefault(method, []).append(_Script("ratelimited", retry_after, times))

    # ---- inspection ------------------------------------------------------------------

    def calls_to(self, method: str, team: str | None = None) -> list[Call]:
        with self._cond:
            return [
                c for c in self.calls if c.method == method and (team is None or c.team == team)
            ]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0, *, settle: bool = True
    ) -> list[Call]:
        """Block until ``count`` calls of ``method`` arrived; for work done in other threads.

        A call is recorded before it is answered, so the app may still be taking in the
        answer (storing a message's ``ts``, say) when this returns; with ``settle`` and a
        harness's `settle` hook set, it also waits until the app has finished that work."""
        with self._cond:
            arrived = self._cond.wait_for(lambda: len(self.calls_to(method)) >= count, timeout)
            calls = self.calls_to(method)
            seen = "\n".join(f"  {c.method} {_short(c.params)}" for c in self.calls) or "  (none)"
        if arrived:
            if settle and self.settle is not None:
                self.settle()
            return calls
        raise AssertionError(
            f"expected {count} call(s) to {method} within {timeout}s, "
            f"got {len(calls)}; all calls:\n{seen}"
        )

    def uploaded(self, file_id: str) -> bytes | None:
        """Bytes posted to a file's upload URL (None if nothing was uploaded)."""
        with self._cond:
            file = self._files.get(file_id)
            return file.data if file else None

    def validate_payloads(self) -> None:
        """Fail with every Slack limit broken by any recorded message or view payload.

        Slack rejects or silently truncates such payloads in production; the fake answers
        ok, so tests call this to catch them.
        """
        with self._cond:
            calls = list(self.calls)
        problems: list[str] = []
        for index, call in enumerate(calls):
            if call.method in MESSAGE_METHODS:
                found = _message_problems(call.params)
            elif call.method in VIEW_METHODS:
                found = _view_problems(call.params.get("view"))
            else:
                continue
            problems += [f"call #{index} {call.method}: {p}" for p in found]
        if problems:
            raise AssertionError("invalid Slack payloads:\n" + "\n".join(problems))

    # ---- Socket Mode -----------------------------------------------------------------

    def wait_connected(self, timeout: float = 5.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._sockets), timeout):
                raise AssertionError(f"no Socket Mode client connected within {timeout}s")

    def send_envelope(
        self, type: str, payload: dict, accepts_response_payload: bool = False
    ) -> str:
        """Push an envelope to the newest connected client, as Slack does; return its id."""
        with self._cond:
            self.wait_connected()
            conn = self._sockets[-1]
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":
            envelope |= {"retry_attempt": 0, "retry_reason": ""}
        conn.send(json.dumps(envelope))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict:
        """The message the client sent back for ``envelope_id`` (its ack)."""

        def ack() -> dict | None:
            return next(
                (m for m in self.socket_messages if m.get("envelope_id") == envelope_id), None
            )

        with self._cond:
            if self._cond.wait_for(lambda: ack() is not None, timeout):
                return ack()  # type: ignore[return-value]
            seen = "\n".join(f"  {_short(m)}" for m in self.socket_messages) or "  (none)"
        raise AssertionError(f"no ack for envelope {envelope_id} within {timeout}s; got:\n{seen}")

    def _check_ticket(self, conn: ServerConnection, request: Request) -> Response | None:
        """Only URLs handed out by apps.connections.open may connect, as on Slack."""
        parts = urlsplit(request.path)
        ticket = dict(parse_qsl(parts.query)).get("ticket")
        with self._cond:
            known = ticket in self._tickets
        if parts.path.rstrip("/") != "/link" or not known:
            return conn.respond(HTTPStatus.FORBIDDEN, "invalid ticket\n")
        return None

    def _serve_socket(self, conn: ServerConnection) -> None:
        """One Socket Mode connection: say hello, then record whatever the client sends."""
        with self._cond:
            count = len(self._sockets) + 1
        hello = {
            "type": "hello",
            "num_connections": count,
            "debug_info": {"host": "fakeslack", "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        try:
            conn.send(json.dumps(hello))
            with self._cond:
                self._sockets.append(conn)
                self._cond.notify_all()
            for raw in conn:
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = {"raw": raw}
                with self._cond:
                    self.socket_messages.append(message)
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if conn in self._sockets:
                    self._sockets.remove(conn)
                self._cond.notify_all()

    # ---- HTTP dispatch ---------------------------------------------------------------

    def _next_id(self) -> int:
        with self._cond:
            return next(self._ids)

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def hold_next(self, method: str) -> tuple[threading.Event, threading.Event]:
        """The next call of `method` is recorded, then left unanswered until `release` is
        set: a client stuck mid-request, to be killed there. Returns (arrived, release)."""
        arrived, release = threading.Event(), threading.Event()
        with self._cond:
            self._holds.setdefault(method, []).append((arrived, release))
        return arrived, release

    def _maybe_hold(self, method: str) -> None:
        with self._cond:
            queue = self._holds.get(method)
            hold = queue.pop(0) if queue else None
        if hold is not None:
            hold[0].set()
            hold[1].wait(timeout=30)

    def _take_script(self, method: str) -> _Script | None:
        with self._cond:
            queue = self._scripts.get(method)
            if not queue:
                return None
            script = queue[0]
            script.times -= 1
            if script.times <= 0:
                queue.pop(0)
            return script

    def _handle(self, verb: str, url: str, headers: Any, body: bytes) -> _Reply:
        path = urlsplit(url).path
        if path.startswith("/api/"):
            return self._handle_api(path.removeprefix("/api/"), url, headers, body)
        if path.startswith("/response/"):
            return self._handle_response_url(path, url, headers, body)
        if path.startswith("/upload/") and verb == "POST":
            return self._handle_upload(path.removeprefix("/upload/"), url, body)
        return _Reply.text("no_service", 404)

    def _handle_api(self, method: str, url: str, headers: Any, body: bytes) -> _Reply:
        token = _bearer(headers.get("Authorization"))
        try:
            params = _parse_params(url, headers.get("Content-Type"), body)
        except ValueError:
            self._record(Call(method, {}, token, url))
            return _Reply.json({"ok": False, "error": "invalid_arguments"})
        token = token or params.pop("token", None)
        if method == "oauth.v2.access":  # client credentials, not a token
            params = {**params, **_basic(headers.get("Authorization"))}
        with self._cond:
            team = next((t for t in self._teams.values() if t.bot_token == token), None)
        self._record(Call(method, params, token, url, team.id if team else None))
        self._maybe_hold(method)
        self._acting.team = team.id if team else self.team_id

        handler = self._methods().get(method)
        if handler is None:
            error = "unknown_method"
        elif method == "oauth.v2.access":
            error = ""
        elif not token:
            error = "not_authed"
        elif method == "apps.connections.open":
            error = "" if token == self.app_token else "invalid_auth"
        elif team is None:
            error = "invalid_auth"
        else:
            error = team.gone or ""
        if handler is None or error:
            pass
        elif script := self._take_script(method):
            if script.drop:
                with contextlib.suppress(_ApiError):
                    handler(params)  # it happened; the answer is lost
                return _Reply(0, b"")
            if script.status is not None:
                page = f"<html><body><h1>{script.status}</h1>Slack is having trouble</body></html>"
                return _Reply(script.status, page.encode(), "text/html; charset=utf-8")
            if script.retry_after is not None:
                return _Reply.json(
                    {"ok": False, "error": script.error},
                    429,
                    **{"Retry-After": str(script.retry_after)},
                )
            error = script.error
        else:
            try:
                return _Reply.json({"ok": True, **handler(params)})
            except _ApiError as e:
                error = e.error
        return _Reply.json({"ok": False, "error": error})

    def _acting_team(self) -> _Team:
        with self._cond:
            return self._teams[getattr(self._acting, "team", None) or self.team_id]

    def _handle_response_url(self, path: str, url: str, headers: Any, body: bytes) -> _Reply:
        """Slack answers response URLs in plain text: ``ok``, or an error word."""
        token = _bearer(headers.get("Authorization"))
        with self._cond:
            known = path in self._response_paths
        try:
            params = _decode_json_fields(json.loads(body or b"{}"))
        except ValueError:
            params = None
        valid = isinstance(params, dict)
        self._record(Call("response_url", params if valid else {}, token, url))
        if not known:
            return _Reply.text("no_service", 404)
        if not valid:
            return _Reply.text("invalid_payload", 400)
        return _Reply.text("ok")

    def _handle_upload(self, file_id: str, url: str, body: bytes) -> _Reply:
        """The second step of files_upload_v2: raw bytes POSTed to the issued URL."""
        self._record(Call("upload_url", {"file_id": file_id, "length": len(body)}, None, url))
        script = self._take_script("upload_url")  # server_error_next("upload_url")
        if script is not None and script.status is not None:
            return _Reply.text("upstream trouble", script.status)
        with self._cond:
            file = self._files.get(file_id)
            if file is None:
                return _Reply.text("no_service", 404)
            file.data = body
        return _Reply.text(f"OK - {len(body)}")

    # ---- Web API methods: each returns the body after "ok": true ---------------------

    def _methods(self) -> dict[str, Callable[[dict], dict]]:
        return {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "apps.connections.open": self._apps_connections_open,
            "conversations.create": self._conversations_create,
            "conversations.info": self._conversations_info,
            "conversations.inviteShared": self._conversations_invite_shared,
            "oauth.v2.access": self._oauth_v2_access,
        }

    def _auth_test(self, params: dict) -> dict:
        team = self._acting_team()
        home = team.id == self.team_id
        return {
            "url": f"https://{team.id.lower()}.slack.com/",
            "team": team.name,
            "user": self._users[self.bot_user_id].name if home else "prm-bot",
            "team_id": team.id,
            "user_id": team.bot_user_id,
            "bot_id": self.bot_id if home else f"B{team.id}",
            "is_enterprise_install": False,
        }

    def _conversations_create(self, params: dict) -> dict:
        """Slack's rules: lowercase letters, digits, hyphens, underscores; at most 80."""
        name = str(params.get("name") or "")
        team = self._acting_team()
        if not name:
            raise _ApiError("invalid_name_required")
        if len(name) > 80:
            raise _ApiError("invalid_name_maxlength")
        if not all(c.isascii() and (c.islower() or c.isdigit() or c in "-_") for c in name):
            raise _ApiError("invalid_name_specials")
        with self._cond:
            if any(c.team == team.id and c.name == name for c in self._channels.values()):
                raise _ApiError("name_taken")
            private = _truthy(params.get("is_private"))
            ch = _Channel(f"C{self._next_id():08d}", team.id, name, private, {team.bot_user_id})
            self._channels[ch.id] = ch
        return {"channel": self._channel_object(ch, team)}

    def _conversations_info(self, params: dict) -> dict:
        """A channel of the acting team, or one shared with it; `channel_not_found`
        otherwise, as Slack says for a private channel the bot is not in."""
        team = self._acting_team()
        with self._cond:
            ch = self._channels.get(str(params.get("channel") or ""))
            visible = ch is not None and (
                ch.team == team.id or (ch.ext_shared and team.bot_user_id in ch.members)
            )
            if ch is None or not visible or (ch.is_private and team.bot_user_id not in ch.members):
                raise _ApiError("channel_not_found")
            return {"channel": self._channel_object(ch, team)}

    @staticmethod
    def _channel_object(ch: _Channel, team: _Team) -> dict:
        return {
            "id": ch.id,
            "name": ch.name,
            "is_channel": not ch.is_private,
            "is_group": ch.is_private,
            "is_private": ch.is_private,
            "is_im": False,
            "is_member": team.bot_user_id in ch.members,
            "is_ext_shared": ch.ext_shared,
            "is_shared": ch.ext_shared,
            "created": 1_700_000_000,
            "creator": team.bot_user_id,
            "context_team_id": ch.team,
        }

    def _conversations_invite_shared(self, params: dict) -> dict:
        """Documented refusals: channel_not_found, not_in_channel, invalid_arguments (no
        emails nor user_ids, or more than one), and the team's Slack Connect error."""
        team = self._acting_team()
        with self._cond:
            ch = self._channels.get(str(params.get("channel") or ""))
            if ch is None or ch.team != team.id:
                raise _ApiError("channel_not_found")
            if team.bot_user_id not in ch.members:
                raise _ApiError("not_in_channel")
            if team.connect_error:
                raise _ApiError(team.connect_error)
            emails = [e for e in str(params.get("emails") or "").split(",") if e]
            users = [u for u in str(params.get("user_ids") or "").split(",") if u]
            if len(emails) + len(users) != 1:
                raise _ApiError("invalid_arguments")
            invite = {
                "invite_id": f"I{self._next_id():08d}",
                "channel": ch.id,
                "team": team.id,
                "email": emails[0] if emails else None,
                "user_id": users[0] if users else None,
                "external_limited": _truthy(params.get("external_limited", True)),
                "status": "pending",
            }
            self.invites.append(invite)
        return {"invite_id": invite["invite_id"], "is_legacy_shared_channel": False}

    def _oauth_v2_access(self, params: dict) -> dict:
        if params.get("client_id") != self.client_id:
            raise _ApiError("invalid_client_id")
        if params.get("client_secret") != self.client_secret:
            raise _ApiError("bad_client_secret")
        with self._cond:
            granted = self._codes.pop(str(params.get("code") or ""), None)
        if granted is None:
            raise _ApiError("invalid_code")
        team_id, name, installer = granted
        token = self.add_team(team_id, name=name)
        with self._cond:
            team = self._teams[team_id]
        return {
            "access_token": token,
            "token_type": "bot",
            "scope": "commands,chat:write",
            "bot_user_id": team.bot_user_id,
            "app_id": self.app_id,
            "team": {"id": team_id, "name": team.name},
            "enterprise": None,
            "authed_user": {"id": installer},
            "is_enterprise_install": False,
        }

    def _users_info(self, params: dict) -> dict:
        with self._cond:
            user = self._users.get(params.get("user", ""))
        if user is None:
            raise _ApiError("user_not_found")
        offset = ZoneInfo(user.tz).utcoffset(datetime.now(UTC).replace(tzinfo=None))
        info: dict[str, Any] = {
            "id": user.id,
            "team_id": user.team,
            "name": user.name,
            "real_name": user.name,
            "tz": user.tz,
            "tz_label": user.tz,
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "is_bot": user.is_bot,
            "deleted": user.deleted,
            "profile": {
                "real_name": user.name,
                "display_name": user.name,
                "team": user.team,
                **({"email": user.email} if user.email else {}),
            },
        }
        if _truthy(params.get("include_locale")):
            info["locale"] = user.locale
        return {"user": info}

    def _conversations_open(self, params: dict) -> dict:
        users = [u for u in str(params.get("users", "")).split(",") if u]
        with self._cond:
            if len(users) != 1 or users[0] not in self._users:
                raise _ApiError("user_not_found")
            acting = getattr(self._acting, "team", None) or self.team_id
            if self._users[users[0]].team != acting:
                # Another workspace's person: a bot cannot open a DM with them (Slack's
                # "the calling user is restricted from seeing the requested user").
                raise _ApiError("user_not_visible")
            already_open = users[0] in self._dms
            channel = self._dm_channel(users[0])
        return {"channel": {"id": channel}, "no_op": already_open, "already_open": already_open}

    def _dm_channel(self, user_id: str) -> str:
        """Stable DM id per user; caller holds the lock."""
        if user_id not in self._dms:
            self._dms[user_id] = f"D{next(self._ids):08d}"
        return self._dms[user_id]

    def _message(self, params: dict, ts: str) -> dict:
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": params.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if key in params:
                message[key] = params[key]
        return message

    def _new_ts(self) -> str:
        n = self._next_id()
        return f"{1_700_000_000 + n}.{n:06d}"

    def _require_message(self, params: dict) -> None:
        if not params.get("channel"):
            raise _ApiError("channel_not_found")
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")

    def _chat_post_message(self, params: dict) -> dict:
        self._require_message(params)
        channel = params["channel"]
        with self._cond:
            made = self._channels.get(channel)
            acting = getattr(self._acting, "team", None) or self.team_id
            if made is not None and made.team != acting and acting not in _teams_of(made, self):
                raise _ApiError("channel_not_found")
            if channel in self._users:  # posting to a user id lands in their DM
                channel = self._dm_channel(channel)
        ts = self._new_ts()
        return {"channel": channel, "ts": ts, "message": self._message(params, ts)}

    def _chat_post_ephemeral(self, params: dict) -> dict:
        self._require_message(params)
        if not params.get("user"):
            raise _ApiError("user_not_found")
        return {"message_ts": self._new_ts()}

    def _chat_update(self, params: dict) -> dict:
        if not params.get("channel"):
            raise _ApiError("channel_not_found")
        if not params.get("ts"):
            raise _ApiError("message_not_found")
        ts = params["ts"]
        return {
            "channel": params["channel"],
            "ts": ts,
            "text": params.get("text", ""),
            "message": self._message(params, ts),
        }

    def _views_publish(self, params: dict) -> dict:
        user_id, view = params.get("user_id"), params.get("view")
        if not user_id or not isinstance(view, dict):
            raise _ApiError("invalid_arguments")
        with self._cond:
            view_id = self._home_views.setdefault(user_id, f"V{next(self._ids):08d}")
        return {"view": self._view(view, view_id)}

    def _views_open(self, params: dict) -> dict:
        view = params.get("view")
        if not params.get("trigger_id") or not isinstance(view, dict):
            raise _ApiError("invalid_arguments")
        return {"view": self._view(view, f"V{self._next_id():08d}")}

    def _views_update(self, params: dict) -> dict:
        view, view_id = params.get("view"), params.get("view_id") or params.get("external_id")
        if not view_id or not isinstance(view, dict):
            raise _ApiError("invalid_arguments")
        return {"view": self._view(view, view_id)}

    def _view(self, view: dict, view_id: str) -> dict:
        return {
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "hash": f"{self._next_id()}.fake",
        }

    def _files_get_upload_url_external(self, params: dict) -> dict:
        filename, length = params.get("filename"), params.get("length")
        if not filename or not str(length or "").isdigit():
            raise _ApiError("invalid_arguments")
        file = _File(f"F{self._next_id():08d}", filename, int(length))
        with self._cond:
            self._files[file.id] = file
        upload_url = f"http://127.0.0.1:{self.port}/upload/{file.id}"
        return {"upload_url": upload_url, "file_id": file.id}

    def _files_complete_upload_external(self, params: dict) -> dict:
        try:
            entries = json.loads(params["files"])
        except (KeyError, TypeError, ValueError):
            raise _ApiError("invalid_arguments") from None
        files = []
        for entry in entries:
            with self._cond:
                file = self._files.get(entry.get("id", ""))
            if file is None or file.data is None:
                raise _ApiError("file_not_found")
            files.append(
                {
                    "id": file.id,
                    "name": file.filename,
                    "title": entry.get("title") or file.filename,
                    "size": len(file.data),
                }
            )
        return {"files": files}

    def _apps_connections_open(self, params: dict) -> dict:
        ticket = uuid.uuid4().hex
        with self._cond:
            self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self.ws_port}/link/?ticket={ticket}&app_id={self.app_id}"}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlack


class _Handler(BaseHTTPRequestHandler):
    """Thin adapter from http.server to ``FakeSlack._handle``."""

    server: _HTTPServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, verb: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            reply = self.server.fake._handle(verb, self.path, self.headers, body)
        except Exception:  # a bug in the fake: show it, and answer as Slack's outages do
            traceback.print_exc()
            reply = _Reply.json({"ok": False, "error": "fatal_error"}, 500)
        if reply.status == 0:  # a dropped connection: no status line, nothing
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep pytest output clean; failures are reported through recorded calls."""


# ---- request parsing -------------------------------------------------------------------


def _teams_of(channel: _Channel, fake: FakeSlack) -> set[str]:
    """The workspaces whose people are in a channel (the host's, and once shared, theirs)."""
    return {channel.team} | {fake._users[u].team for u in channel.members if u in fake._users}


def _basic(header: str | None) -> dict[str, str]:
    """HTTP Basic client credentials (how slack_sdk sends them to oauth.v2.access)."""
    if not header or not header.startswith("Basic "):
        return {}
    try:
        raw = base64.b64decode(header.removeprefix("Basic ").strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return {}
    client_id, _, secret = raw.partition(":")
    return {"client_id": client_id, "client_secret": secret}


def _bearer(header: str | None) -> str | None:
    if header and header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip() or None
    return None


def _parse_params(url: str, content_type: str | None, body: bytes) -> dict:
    """Merge query string and body, as Slack accepts arguments from either.

    Raises ValueError on a body we cannot read (Slack: ``invalid_arguments``).
    """
    params: dict[str, Any] = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    kind = (content_type or "application/x-www-form-urlencoded").split(";")[0].strip().lower()
    if body:
        if kind == "application/json":
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("JSON body must be an object")
            params.update(data)
        elif kind == "application/x-www-form-urlencoded":
            params.update(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
        else:
            raise ValueError(f"unsupported content type {kind}")
    return _decode_json_fields(params)


def _decode_json_fields(params: Any) -> Any:
    if isinstance(params, dict):
        for key in JSON_FIELDS:
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
    return params


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _short(data: Any, limit: int = 200) -> str:
    text = json.dumps(data, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


# ---- payload validation ----------------------------------------------------------------


def _message_problems(params: dict) -> list[str]:
    text, blocks = params.get("text"), params.get("blocks")
    if params.get("delete_original") and not blocks and not text:
        return []
    problems: list[str] = []
    if text is not None and not isinstance(text, str):
        problems.append(f"text must be a string, got {type(text).__name__}")
    elif text and len(text) > MAX_TEXT:
        problems.append(f"text has {len(text)} chars (max {MAX_TEXT})")
    if blocks:
        if not text:
            problems.append("message has blocks but no fallback text (used in notifications)")
        problems += _blocks_problems(blocks, MAX_MESSAGE_BLOCKS)
    elif not text and not params.get("attachments"):
        problems.append("message has neither text nor blocks")
    return problems


def _view_problems(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return [f"view must be an object, got {type(view).__name__}"]
    problems = _blocks_problems(view.get("blocks") or [], MAX_VIEW_BLOCKS)
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError, ValueError) as e:
        problems.append(f"view: {e}")
    return problems


def _blocks_problems(blocks: Any, max_blocks: int) -> list[str]:
    if not isinstance(blocks, list):
        return [f"blocks must be a list, got {type(blocks).__name__}"]
    problems = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks (max {max_blocks})")
    for i, block in enumerate(blocks):
        problems += [f"block {i}: {p}" for p in _block_problems(block)]
    return problems


def _block_problems(block: Any) -> list[str]:
    if not isinstance(block, dict):
        return [f"must be an object, got {type(block).__name__}"]
    kind = block.get("type")
    text = block.get("text")
    text = text.get("text", "") if isinstance(text, dict) else ""
    if kind == "header" and len(text) > MAX_HEADER_TEXT:
        return [f"header text has {len(text)} chars (max {MAX_HEADER_TEXT})"]
    if kind == "section" and len(text) > MAX_SECTION_TEXT:
        return [f"section text has {len(text)} chars (max {MAX_SECTION_TEXT})"]
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"unknown block type {kind!r}"]
        parsed.validate_json()
    except (SlackObjectFormationError, TypeError, ValueError) as e:
        return [f"{kind}: {e}"]
    return []
