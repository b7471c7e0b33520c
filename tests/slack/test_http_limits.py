"""`POST /slack/events` before authentication: a size cap enforced while reading, the v0
signature and timestamp checked before anything parses the body, and no traceback for any
malformed request (bot/web.py). In-process: the real app under uvicorn on 127.0.0.1.

The process-level acceptance (a real `prm serve`, its RSS and its log) is in
tests/slack/test_serve.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from bot.web.asgi import MAX_SLACK_BODY_BYTES
from tests.slack.conftest import MANAGER, SECRET, SlackWorld, sign


def sign_bytes(body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 scheme over raw bytes (a body that is not UTF-8 can still be signed)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@pytest.fixture
def server_log(world: SlackWorld) -> Iterator[list[str]]:
    """Every log line of the process while the test runs, tracebacks included: the root
    logger's and uvicorn's (which has its own handlers and does not propagate)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.INFO)  # Bolt logs refused bodies at INFO
    for logger in loggers:
        logger.addHandler(handler)
    yield lines
    for logger in loggers:
        logger.removeHandler(handler)
    logging.getLogger().setLevel(root_level)


def _post(world: SlackWorld, body: bytes | str, headers: dict[str, str]) -> httpx.Response:
    """Header values go as UTF-8 bytes, so a non-ASCII one reaches the server as sent."""
    encoded = {k: v.encode("utf-8") for k, v in headers.items()}
    return httpx.post(f"{world.url}/slack/events", content=body, headers=encoded, timeout=10)


def _command(world: SlackWorld, marker: str = "") -> str:
    return urlencode(
        {
            "command": "/prm",
            "text": "kpi",
            "user_id": MANAGER,
            "team_id": "T0001",
            "response_url": world.fake.response_url() + marker,
            "trigger_id": "1.2.3",
            "channel_id": "C1",
        }
    )


FORM = "application/x-www-form-urlencoded"
MALFORMED = [
    pytest.param("application/json", b"a=b", id="json-type-form-body"),
    pytest.param(FORM, b"text=\xff\xfe\xfa", id="invalid-utf8"),
    pytest.param("application/json", b"[1,2,3]", id="json-array"),
    pytest.param(FORM, b"payload=%7Bnot", id="payload-not-json"),
    pytest.param(FORM, b"payload=%5B1%2C2%5D", id="payload-array"),
    pytest.param("application/json", b'{"type": "event_callback"', id="truncated-json"),
    pytest.param("application/json", b"\xef\xbb\xbf{}", id="bom"),
]


@pytest.mark.parametrize(("content_type", "body"), MALFORMED)
def test_unsigned_malformed_bodies_are_401_without_a_traceback(
    world, server_log, content_type, body
):
    response = _post(world, body, {"Content-Type": content_type})
    assert response.status_code == 401
    assert response.json() == {"error": "invalid request"}
    assert not any("Traceback" in line for line in server_log), server_log
    assert world.fake.calls == [] or all(c.method == "auth.test" for c in world.fake.calls)


@pytest.mark.parametrize(("content_type", "body"), MALFORMED)
def test_signed_malformed_bodies_are_400_without_a_traceback(world, server_log, content_type, body):
    response = _post(world, body, {"Content-Type": content_type, **sign_bytes(body)})
    assert response.status_code == 400
    assert response.json() == {"error": "malformed request body"}
    assert not any("Traceback" in line for line in server_log), server_log
    assert world.fake.calls_to("response_url") == []


def _payload(obj: dict) -> tuple[str, bytes]:
    return FORM, urlencode({"payload": json.dumps(obj)}).encode()


def _event(obj: dict) -> tuple[str, bytes]:
    return "application/json", json.dumps(obj).encode()


# Signed objects whose parts do not have the types Bolt reads them as (it would raise while
# matching listeners, and log a traceback).
WRONG_SHAPES = [
    pytest.param(*_event({"type": "event_callback", "event": "x"}), id="event-not-object"),
    pytest.param(*_event({"type": 5}), id="type-not-text"),
    pytest.param(*_event({"authorizations": 5}), id="authorizations-not-list"),
    pytest.param(*_event({"team": 3}), id="team-a-number"),
    pytest.param(*_payload({"type": "block_actions", "actions": "x"}), id="actions-text"),
    pytest.param(*_payload({"type": "block_actions", "actions": [5]}), id="action-number"),
    pytest.param(*_payload({"type": "block_actions", "actions": [{}]}), id="no-action-id"),
    pytest.param(*_payload({"type": "view_submission", "view": "v"}), id="view-text"),
    pytest.param(
        *_payload({"type": "view_submission", "view": {"callback_id": "c"}}), id="no-type"
    ),
    pytest.param(
        FORM,
        urlencode({"command": "/prm", "user_id": MANAGER, "response_url": "notaurl"}).encode(),
        id="response-url-not-a-url",
    ),
]


@pytest.mark.parametrize(("content_type", "body"), WRONG_SHAPES)
def test_signed_payloads_of_the_wrong_shape_are_400_without_a_traceback(
    world, server_log, content_type, body
):
    response = _post(world, body, {"Content-Type": content_type, **sign_bytes(body)})
    assert response.status_code == 400
    assert not any("Traceback" in line for line in server_log), server_log


def test_events_with_object_ids_are_not_refused(world, server_log):
    # user_change carries a user object, channel_created a channel object: not malformed.
    content_type, body = _event(
        {"type": "event_callback", "event": {"type": "user_change", "user": {"id": "U1"}}}
    )
    response = _post(world, body, {"Content-Type": content_type, **sign_bytes(body)})
    assert response.status_code != 400
    assert not any("Traceback" in line for line in server_log), server_log


@pytest.mark.parametrize(
    "timestamp",
    ["abc", "", "12.5", "-1", "1e9", "١٢٣٤", "9" * 40, "+1700000000", "0x6553f100"],
)
def test_a_malformed_timestamp_is_401_without_a_traceback(world, server_log, timestamp):
    body = _command(world)
    headers = {"Content-Type": FORM, **sign(body), "X-Slack-Request-Timestamp": timestamp}
    response = _post(world, body, headers)
    assert response.status_code == 401
    assert not any("Traceback" in line for line in server_log), server_log


@pytest.mark.parametrize(
    "signature", ["", "v0=", "v0=" + "g" * 64, "v0=" + "A" * 64, "v0=" + "0" * 63, "ü" * 67]
)
def test_a_malformed_signature_is_401(world, server_log, signature):
    body = _command(world)
    response = _post(
        world, body, {"Content-Type": FORM, **sign(body), "X-Slack-Signature": signature}
    )
    assert response.status_code == 401
    assert not any("Traceback" in line for line in server_log), server_log


def test_a_refused_request_does_not_log_its_body(world, server_log):
    body = _command(world, marker="MARKER-NOT-IN-LOGS")
    response = world.post(body, FORM, {**sign(body), "X-Slack-Signature": "v0=" + "0" * 64})
    assert response.status_code == 401
    stale = world.post(body, FORM, sign(body, int(time.time()) - 600))
    assert stale.status_code == 401
    assert any("slack endpoint: 401" in line for line in server_log)  # the reason is logged
    assert not any("MARKER" in line or "response_url" in line for line in server_log)


def test_a_declared_body_over_the_limit_is_413(world):
    body = b"x" * (MAX_SLACK_BODY_BYTES + 1)
    started = time.monotonic()
    response = _post(world, body, {"Content-Type": FORM, **sign_bytes(body)})
    assert response.status_code == 413
    assert time.monotonic() - started < 5
    assert world.fake.calls_to("response_url") == []


def test_a_chunked_body_over_the_limit_is_413(world):
    body = b"x" * (MAX_SLACK_BODY_BYTES + 1)
    headers = {"Content-Type": FORM, **sign_bytes(body)}

    def chunks() -> Iterator[bytes]:  # no Content-Length: httpx sends it chunked
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = httpx.post(f"{world.url}/slack/events", content=chunks(), headers=headers)
    assert response.status_code == 413


def test_a_signed_command_at_the_limit_is_answered(world):
    body = _command(world)
    body += "&pad=" + "x" * (MAX_SLACK_BODY_BYTES - len(body) - len("&pad="))
    assert len(body) == MAX_SLACK_BODY_BYTES
    response = world.post(body, FORM)
    assert response.status_code == 200
    world.fake.wait_for("response_url")


def _answer_before_the_body(world: SlackWorld, head: str, body_start: bytes = b"") -> bytes:
    """Send the request line, headers and the start of a body that is never finished; the
    status line must come back anyway (the server refused without reading the rest)."""
    parts = urlsplit(world.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(head.encode("latin-1") + body_start)
        return sock.recv(4096)


def test_a_declared_20_mb_body_is_refused_before_it_is_sent(world):
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 20000000\r\n\r\n"
    )
    answer = _answer_before_the_body(world, head, b"{")
    assert answer.startswith(b"HTTP/1.1 413")


def test_an_unsigned_chunked_body_is_refused_before_it_is_read(world):
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    answer = _answer_before_the_body(world, head, b"10\r\n" + b"x" * 16 + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 401")


def test_a_chunked_body_is_refused_once_it_passes_the_limit(world):
    # Headers that pass the cheap checks (fresh timestamp, well-formed signature): the body
    # must be read to check the HMAC, and reading stops at the limit.
    fake_signature = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": ""}
    fake_signature["X-Slack-Signature"] = "v0=" + "0" * 64
    head = "POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in fake_signature.items())
    head += "Transfer-Encoding: chunked\r\n\r\n"
    chunk = b"x" * 65536
    body_start = (b"10000\r\n" + chunk + b"\r\n") * (MAX_SLACK_BODY_BYTES // len(chunk) + 1)
    answer = _answer_before_the_body(world, head, body_start)
    assert answer.startswith(b"HTTP/1.1 413")
