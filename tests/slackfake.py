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


@dataclass
class _User:
    id: str
    name: str
    locale: str
    tz: str
    is_bot: bool
    deleted: bool


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
    ) -> None:
        """Make ``users.info`` / ``conversations.open`` know this user."""
        ZoneInfo(tz)  # fail here, not inside a request handler, on a misspelt zone
        user = _User(user_id, name or f"user-{user_id.lower()}", locale, tz, is_bot, deleted)
        with self._cond:
            self._users[user_id] = user

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

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

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
        self._record(Call(method, params, token, url))
        self._maybe_hold(method)

        handler = self._methods().get(method)
        allowed = self.app_token if method == "apps.connections.open" else self.bot_token
        if handler is None:
            error = "unknown_method"
        elif not token:
            error = "not_authed"
        elif token != allowed:
            error = "invalid_auth"
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
        }

    def _auth_test(self, params: dict) -> dict:
        return {
            "url": "https://fake-team.slack.com/",
            "team": "Fake Team",
            "user": self._users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
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
            "team_id": self.team_id,
            "name": user.name,
            "real_name": user.name,
            "tz": user.tz,
            "tz_label": user.tz,
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "is_bot": user.is_bot,
            "deleted": user.deleted,
            "profile": {"real_name": user.name, "display_name": user.name, "team": self.team_id},
        }
        if _truthy(params.get("include_locale")):
            info["locale"] = user.locale
        return {"user": info}

    def _conversations_open(self, params: dict) -> dict:
        users = [u for u in str(params.get("users", "")).split(",") if u]
        with self._cond:
            if len(users) != 1 or users[0] not in self._users:
                raise _ApiError("user_not_found")
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
