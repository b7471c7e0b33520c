"""The HTTP surface: Slack's signatures, the 3-second ack, and the health check."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import httpx
import pytest

from bot.handlers.app import build_app
from bot.web.asgi import create_web_app
from tests.slack.conftest import AS_OF, MANAGER, _serve, sign, stop


def _command_body(fake, text: str = "kpi") -> str:
    return urlencode(
        {
            "command": "/prm",
            "text": text,
            "user_id": MANAGER,
            "team_id": "T0001",
            "response_url": fake.response_url(),
            "trigger_id": "1.2.3",
            "channel_id": "C1",
        }
    )


def test_good_signature_is_acked_empty_within_three_seconds(world):
    body = _command_body(world.fake)
    started = time.monotonic()
    response = world.post(body, "application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert time.monotonic() - started < 3
    assert response.text == ""  # the answer goes to response_url, not the ack
    world.fake.wait_for("response_url")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: sign(body, secret="wrong-secret"), id="wrong-secret"),
        pytest.param(lambda body: sign(body + "tampered"), id="tampered-body"),
        pytest.param(lambda body: sign(body, int(time.time()) - 5 * 60 - 5), id="stale"),
        pytest.param(lambda body: sign(body, int(time.time()) + 5 * 60 + 5), id="future"),
        pytest.param(lambda body: {}, id="unsigned"),
        pytest.param(
            lambda body: {**sign(body), "X-Slack-Signature": "v1=abc"}, id="wrong-version"
        ),
    ],
)
def test_bad_or_stale_signatures_get_401_and_nothing_happens(world, headers):
    body = _command_body(world.fake)
    response = world.post(body, "application/x-www-form-urlencoded", headers(body))
    assert response.status_code == 401
    assert world.fake.calls_to("response_url") == []
    assert world.fake.calls_to("users.info") == []


def test_url_verification_challenge(world):
    import json

    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})
    response = world.post(body, "application/json")
    assert response.status_code == 200
    assert "c-123" in response.text


def test_healthz_reports_the_database(world):
    response = httpx.get(f"{world.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_down(world):
    from bot.store.engine import get_engine

    dead = get_engine("postgresql://postgres@127.0.0.1:1/nothing")
    app = create_web_app(object(), dead, world.settings)  # type: ignore[arg-type]
    url, server, thread = _serve(app)
    try:
        response = httpx.get(f"{url}/healthz", timeout=10)
    finally:
        stop(server, thread)
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_oauth_routes_are_404_without_client_id(world):
    assert httpx.get(f"{world.url}/slack/install", timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/c/x/"),
        ("GET", "/c/"),
        ("GET", "/healthz/"),
        ("GET", "/slack/install/"),
        ("GET", "/api/v1/kpi/"),
        ("GET", "/api/v1/openapi.json/"),
        ("POST", "/slack/events/"),
    ],
)
def test_no_redirect_is_built_from_a_spoofed_host(world, method, path):
    """Starlette would answer /path/ with a 307 to http://<Host header>/path."""
    response = httpx.request(
        method, f"{world.url}{path}", headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert not response.is_redirect, response.headers
    assert "location" not in response.headers
    assert "evil.example" not in response.text
    assert response.status_code in (404, 405, 503)


def test_the_endpoint_checks_with_bolts_secret_when_settings_have_none(world):
    # create_web_app(bolt, engine) with settings lacking SLACK_SIGNING_SECRET (as some
    # callers build it): the secret Bolt was built with is the one that counts.
    from bot.core.settings import Settings

    bolt = build_app(world.settings, world.engine, clock=lambda: AS_OF)
    app = create_web_app(bolt, world.engine, Settings(_env_file=None), clock=lambda: AS_OF)
    url, server, thread = _serve(app)
    try:
        body = _command_body(world.fake)
        head = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        response = httpx.post(f"{url}/slack/events", content=body, headers=head, timeout=10)
        unsigned = httpx.post(f"{url}/slack/events", content=body, timeout=10)
    finally:
        stop(server, thread)
    assert response.status_code == 200
    assert unsigned.status_code == 401
    world.fake.wait_for("response_url")
