"""`prm serve` as a user runs it: a real process, over HTTP and over Socket Mode."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import httpx
import pytest

from tests.slack.conftest import MANAGER, REP_JA, SECRET, seed, sign
from tests.slack.payloads import words


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


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("SLACK_SIGNING_SECRET", "set SLACK_SIGNING_SECRET"),
        ("SLACK_BOT_TOKEN", "set SLACK_BOT_TOKEN"),
    ],
)
def test_prm_serve_says_which_setting_is_missing(db_url, fake, drop, message):
    env = _env(db_url, fake)
    del env[drop]
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_prm_serve_reports_a_refused_token(db_url, fake):
    env = _env(db_url, fake, SLACK_BOT_TOKEN="xoxb-revoked")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
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


def test_a_bad_frozen_clock_is_a_configuration_error(db_url, fake):
    env = _env(db_url, fake, PRM_AS_OF="yesterday")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "AS_OF" in done.stderr and "Traceback" not in done.stderr
