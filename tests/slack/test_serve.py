"""`prm serve` as a user runs it: a real process, over HTTP and over Socket Mode."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pytest

from tests.slack.conftest import MANAGER, REP_EN, REP_JA, SECRET, seed, sign
from tests.slack.payloads import words

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(db_url: str, fake, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRM_", "SLACK_"))}
    env.update(
        PRM_DATABASE_URL=db_url,
        PRM_SLACK_API_URL=fake.base_url,
        PRM_AS_OF="2026-11-01T00:00:00Z",
        PRM_SCHEDULER_ENABLED="false",
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
    )
    env.update(extra)
    return env


@contextmanager
def running(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_listening(
    port: int, proc: subprocess.Popen, limit: float = 20.0
) -> tuple[list[str], threading.Thread]:
    """Read the server's output until uvicorn says it is listening (no polling); return
    the lines read so far and the reader, which keeps reading until the process ends."""
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if f"127.0.0.1:{port}" in line and "running" in line.lower():
                ready.set()
        ready.set()  # the process ended

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not ready.wait(timeout=limit) or proc.poll() is not None:
        raise AssertionError(f"prm serve did not start listening: {''.join(lines)}")
    return lines, reader


def test_prm_serve_http_answers_signed_commands(db_url, engine, fake):
    seed(engine)
    port = _free_port()
    with running(["serve", "--port", str(port)], _env(db_url, fake)) as proc:
        output, reader = _wait_listening(port, proc)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        url = fake.response_url()
        body = urlencode(
            {
                "command": "/prm",
                "text": "kpi",
                "user_id": MANAGER,
                "team_id": "T0001",
                "response_url": url,
                "channel_id": "C1",
            }
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        started = time.monotonic()
        response = httpx.post(
            f"http://127.0.0.1:{port}/slack/events", content=body, headers=headers
        )
        assert response.status_code == 200
        answer = fake.wait_for("response_url")[0]
        assert time.monotonic() - started < 3
        assert "2 partners" in words(answer.params)
        bad = httpx.post(
            f"http://127.0.0.1:{port}/slack/events",
            content=body,
            headers={**headers, "X-Slack-Signature": "v0=" + "0" * 64},
        )
        assert bad.status_code == 401
    reader.join(timeout=10)  # the process has ended: the whole log is read
    log = "".join(output)
    # A rejected body, and the response_url in it (URL-encoded there), is not logged.
    assert "response_url" not in log and "%2Fresponse%2F" not in log
    assert "xoxb-test" not in log and SECRET not in log


def test_prm_serve_socket_mode_connects_and_answers(db_url, engine, fake):
    seed(engine)
    env = _env(db_url, fake, SLACK_APP_TOKEN=fake.app_token)
    del env["SLACK_SIGNING_SECRET"]  # Socket Mode needs none
    with running(["serve", "--socket"], env):
        fake.wait_connected(timeout=20)
        payload = {
            "command": "/prm",
            "text": "me",
            "user_id": REP_JA,
            "team_id": "T0001",
            "response_url": fake.response_url(),
            "channel_id": "C1",
            "api_app_id": "A0001",
            "token": "legacy",
            "trigger_id": "1.2.3",
        }
        envelope = fake.send_envelope("slash_commands", payload)
        assert fake.wait_ack(envelope, timeout=10)["envelope_id"] == envelope
        answer = fake.wait_for("response_url", timeout=10)[0]
        assert "次のステップ" in words(answer.params)


def _serve_in_process(cli, monkeypatch, fake, *drop: str, **extra: str):
    """`prm serve` when it stops at start-up, run in-process (no interpreter to start):
    the same command, settings from the same environment, exit code and stderr. It fails
    before it serves or starts any thread; the secrets it registers for log redaction are
    forgotten afterwards, as they would be with its process."""
    from bot.core import logs

    monkeypatch.setattr(logs, "_secrets", logs._secrets)
    for key in list(os.environ):
        if key.startswith(("PRM_", "SLACK_")):
            monkeypatch.delenv(key)
    env = _env(cli.db_url, fake, **extra)
    for key in drop:
        del env[key]
    return cli("serve", env={k: v for k, v in env.items() if k.startswith(("PRM_", "SLACK_"))})


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("SLACK_SIGNING_SECRET", "set SLACK_SIGNING_SECRET"),
        ("SLACK_BOT_TOKEN", "set SLACK_BOT_TOKEN"),
    ],
)
def test_prm_serve_says_which_setting_is_missing(cli, monkeypatch, fake, drop, message):
    done = _serve_in_process(cli, monkeypatch, fake, drop)
    assert done.exit_code == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_prm_serve_reports_a_refused_token(cli, monkeypatch, fake):
    done = _serve_in_process(cli, monkeypatch, fake, SLACK_BOT_TOKEN="xoxb-revoked")
    assert done.exit_code == 2
    assert "Slack refused" in done.stderr and "invalid_auth" in done.stderr
    assert "xoxb-revoked" not in done.stderr


def test_prm_serve_socket_with_a_refused_app_token_says_so(db_url, fake):
    env = _env(db_url, fake, SLACK_APP_TOKEN="xapp-revoked", PRM_SCHEDULER_ENABLED="false")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "serve", "--socket"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "invalid_auth" in done.stderr and "Traceback" not in done.stderr


def test_a_bad_frozen_clock_is_a_configuration_error(cli, monkeypatch, fake):
    done = _serve_in_process(cli, monkeypatch, fake, PRM_AS_OF="yesterday")
    assert done.exit_code == 2 and "AS_OF" in done.stderr and "Traceback" not in done.stderr


def _peak_rss_kib(pid: int) -> int:
    """The process's high-water mark of resident memory (Linux), in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))


def _sign_bytes(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


def _command_body(fake, user: str = MANAGER, text: str = "kpi") -> tuple[str, str]:
    url = fake.response_url()
    body = urlencode(
        {
            "command": "/prm",
            "text": text,
            "user_id": user,
            "team_id": "T0001",
            "response_url": url,
            "channel_id": "C1",
        }
    )
    return body, url


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_prm_serve_refuses_big_and_malformed_bodies_fast_without_tracebacks(db_url, engine, fake):
    """The acceptance of the hardening: unsigned 20 MB and malformed bodies get a 4xx fast,
    the server's memory does not grow with them, and its log holds no traceback."""
    seed(engine)
    port = _free_port()
    events = f"http://127.0.0.1:{port}/slack/events"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with running(["serve", "--port", str(port)], _env(db_url, fake)) as proc:
        output, reader = _wait_listening(port, proc)
        # Warm up (first request, Bolt's first dispatch), then take the high-water mark.
        body, _ = _command_body(fake)
        assert httpx.post(events, content=body, headers={**form, **sign(body)}).status_code == 200
        fake.wait_for("response_url")
        assert httpx.post(events, content=b"{}", headers=form).status_code == 401
        before = _peak_rss_kib(proc.pid)

        big = b"x" * 20_000_000

        def chunked():
            for start in range(0, len(big), 1 << 20):
                yield big[start : start + (1 << 20)]

        bogus = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": ""}
        bogus["X-Slack-Signature"] = "v0=" + "0" * 64
        sends = [
            ("unsigned, declared length", big, form, 413),
            ("unsigned, chunked", chunked(), form, 401),
            ("bad signature, chunked", chunked(), {**form, **bogus}, 413),
            ("signed, declared length", big, {**form, **_sign_bytes(big)}, 413),
        ]
        for what, content, headers, status in sends:
            started = time.monotonic()
            response = httpx.post(events, content=content, headers=headers, timeout=30)
            assert response.status_code == status, what
            assert time.monotonic() - started < 5, what

        malformed = [
            ("application/json", b"a=b"),
            ("application/x-www-form-urlencoded", b"text=\xff\xfe"),
            ("application/json", b"[1,2,3]"),
            ("application/x-www-form-urlencoded", b"payload=%7Bnot"),
        ]
        for content_type, raw in malformed:
            unsigned = httpx.post(events, content=raw, headers={"Content-Type": content_type})
            assert unsigned.status_code == 401, raw
            signed = httpx.post(
                events, content=raw, headers={"Content-Type": content_type, **_sign_bytes(raw)}
            )
            assert signed.status_code == 400, raw
        stale = {**form, **sign(body), "X-Slack-Request-Timestamp": "abc"}
        assert httpx.post(events, content=body, headers=stale).status_code == 401
        grown = _peak_rss_kib(proc.pid) - before
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    reader.join(timeout=10)
    log = "".join(output)
    assert grown < 10 * 1024, f"peak RSS grew by {grown} KiB"
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log
    assert " 413 " in log and " 401 " in log and " 400 " in log  # the access log saw them


def test_prm_serve_debug_logs_hold_no_capability_url_token_or_link(db_url, engine, fake):
    """At DEBUG, slack_sdk logs every request and reply body and uvicorn every path: the
    captured log must still hold no response_url, tracked-link token, or secret."""
    seed(engine)
    port = _free_port()
    public = f"http://127.0.0.1:{port}"
    link_secret = "test-link-secret-0123456789"
    api_token = "test-api-token-0123456789"
    env = _env(
        db_url, fake, PRM_SECRET_KEY=link_secret, PRM_PUBLIC_URL=public, PRM_API_TOKEN=api_token
    )
    with running(["serve", "--port", str(port), "--log-level", "debug"], env) as proc:
        output, reader = _wait_listening(port, proc)
        body, response_url = _command_body(fake, REP_EN, "content")
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        assert (
            httpx.post(f"{public}/slack/events", content=body, headers=headers).status_code == 200
        )
        answer = fake.wait_for("response_url")[0]
        links = re.findall(r"/c/([A-Za-z0-9._-]+)", json.dumps(answer.params))
        assert links, answer.params
        token = links[0]
        followed = httpx.get(f"{public}/c/{token}", headers={"User-Agent": BROWSER})
        assert followed.status_code == 302
        bad = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
        assert httpx.post(f"{public}/slack/events", content=body, headers=bad).status_code == 401
        api = httpx.get(f"{public}/api/v1/kpi", headers={"Authorization": f"Bearer {api_token}"})
        assert api.status_code == 200
    reader.join(timeout=10)
    log = "".join(output)
    assert "DEBUG slack_sdk" in log and "/c/[redacted]" in log  # it did log, and redacted
    path = urlsplit(response_url).path
    for secret in (
        response_url,
        quote(response_url, safe=""),
        path,
        quote(path, safe=""),
        token,
        token[-43:],  # the MAC alone
        "xoxb-test",
        SECRET,
        link_secret,
        api_token,
    ):
        assert secret not in log, secret


def test_a_card_owed_while_slack_was_down_arrives_once_it_is_back(db_url, engine, fake):
    """The retry worker inside `prm serve`: a deal submitted while Slack cannot be reached
    is stored at once, and its card reaches the manager soon after Slack is back."""
    from tests.slack.test_registration import DEAL, _state

    seed(engine)
    port = _free_port()
    # The process's slack_sdk retries a refused connection without its 0.5–1.5 s sleep
    # (tests/subprocess_hooks/sitecustomize.py), and its worker polls every 0.1 s.
    hooks = str(Path(__file__).resolve().parents[1] / "subprocess_hooks")
    pythonpath = os.pathsep.join(p for p in (hooks, os.environ.get("PYTHONPATH")) if p)
    env = _env(db_url, fake, PRM_OUTBOX_POLL_SECONDS="0.1", PYTHONPATH=pythonpath)
    with running(["serve", "--port", str(port)], env) as proc:
        output, reader = _wait_listening(port, proc)
        fake.down()
        payload = {
            "type": "view_submission",
            "team": {"id": "T0001"},
            "user": {"id": REP_EN},
            "api_app_id": "A0001",
            "view": {
                "id": "V9",
                "type": "modal",
                "callback_id": "register_submit",
                "private_metadata": json.dumps({"kind": "deal"}),
                "state": _state(DEAL),
            },
        }
        body = urlencode({"payload": json.dumps(payload)})
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        response = httpx.post(f"http://127.0.0.1:{port}/slack/events", content=body,
                              headers=headers, timeout=30)  # fmt: skip
        assert response.status_code == 200
        with engine.connect() as conn:
            from sqlalchemy import text

            def owed() -> int:
                return conn.execute(
                    text("SELECT count(*) FROM delivery WHERE status = 'retry'")
                ).scalar_one()

            deadline = time.monotonic() + 30
            while owed() < 2 and time.monotonic() < deadline:
                threading.Event().wait(0.1)  # the listener works after its ack
            assert owed() == 2, "".join(output)
        back = time.monotonic()
        fake.up()
        # The backoff's first 5 s (bot/slack/delivery.py `backoff`, checked with an injected
        # wall clock in tests/jobs/test_delivery_fates.py) pass at once: the rows are made
        # due now, as the worker would find them with its wall clock moved on. (Only after
        # `up()`: a row made due while Slack is still down could be tried, and put off.)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE delivery SET next_attempt_at = attempted_at"
                    " WHERE status = 'retry' AND attempted_at IS NOT NULL"
                )
            )
        posts = fake.wait_for("chat.postMessage", count=2, timeout=90)
        assert posts, "".join(output)
        assert time.monotonic() - back < 90  # due rows go on the worker's next poll
        channels = sorted(c.params["channel"] for c in posts)
        assert channels == sorted([fake._dm_channel(REP_EN), fake._dm_channel(MANAGER)])
    reader.join(timeout=10)
    assert "Traceback" not in "".join(output)
