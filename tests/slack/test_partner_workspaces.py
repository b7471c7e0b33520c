"""Partner-installed workspaces, end to end: an install link, Slack's OAuth redirect, the
jobs sending with that workspace's own token (no SLACK_BOT_TOKEN at all), `/prm` from that
workspace answering for that partner only, and `app_uninstalled` stopping it all."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import Engine

from bot.core.settings import Settings
from bot.handlers.app import build_app
from bot.store import teams
from bot.web.asgi import create_web_app
from tests.slack.conftest import (
    ADMIN,
    AS_OF,
    MANAGER,
    REP_EN,
    REP_JA,
    REP_OTHER,
    SECRET,
    _serve,
    _track_listener_work,
    seed,
    sign,
    stop,
)
from tests.slackfake import FakeSlack

VENDOR, ACME = "T0001", "TACME"
MORNING = "2026-11-02T10:00:00Z"  # a Monday, outside quiet hours in UTC
OTHER_NAMES = ("Globex", "Initech KK", "Umbrella")


@dataclass
class OAuthWorld:
    url: str
    fake: FakeSlack
    engine: Engine
    settings: Settings
    http: httpx.Client
    env: dict[str, str]

    def signed(self, body: str, content_type: str) -> httpx.Response:
        head = {"Content-Type": content_type, **sign(body)}
        return self.http.post(f"{self.url}/slack/events", content=body, headers=head)


@pytest.fixture
def oauth_world(db_url: str, engine: Engine, seeded) -> Iterator[OAuthWorld]:
    seeded(seed)
    with FakeSlack(bot_token="xoxb-vendor", team_id=VENDOR) as fake:
        fake.add_team(ACME, name="Acme Corp")
        for user in (ADMIN, MANAGER, REP_OTHER):
            fake.add_user(user)
        for user in (REP_EN, REP_JA, "UACMEBOSS"):
            fake.add_user(user, team_id=ACME)
        values = {
            "database_url": db_url,
            "slack_signing_secret": SECRET,
            "slack_api_url": fake.base_url,
            "slack_client_id": fake.client_id,
            "slack_client_secret": fake.client_secret,
            "secret_key": "install-link-secret",
            "public_url": "http://prm.test",
            "admin_slack_ids": ADMIN,
        }
        settings = Settings(_env_file=None, **values)
        bolt = build_app(settings, engine, clock=lambda: AS_OF)
        fake.settle = _track_listener_work(bolt)
        url, server, thread = _serve(create_web_app(bolt, engine, settings, clock=lambda: AS_OF))
        env = {
            "SLACK_BOT_TOKEN": "",
            "SLACK_CLIENT_ID": fake.client_id,
            "SLACK_CLIENT_SECRET": fake.client_secret,
            "PRM_SECRET_KEY": "install-link-secret",
            "PRM_PUBLIC_URL": url,
            "PRM_SLACK_API_URL": fake.base_url,
            "PRM_AS_OF": AS_OF.isoformat(),
            "PRM_ADMIN_SLACK_IDS": ADMIN,
        }
        with httpx.Client() as http:
            yield OAuthWorld(url, fake, engine, settings, http, env)
        stop(server, thread)
        fake.settle = None
        fake.validate_payloads()


def _install(w: OAuthWorld, cli, partner: str, team: str) -> httpx.Response:
    """What a partner's admin does: open the link, approve on Slack, come back."""
    result = cli("partners", "install-link", partner, env=w.env)
    assert result.exit_code == 0, result.output
    link = result.stdout.strip().splitlines()[0]
    assert link.startswith(w.url + "/slack/install?partner=")
    went = w.http.get(link, follow_redirects=False)
    assert went.status_code == 302, went.text
    authorize = urlsplit(went.headers["location"])
    assert authorize.netloc == "slack.com"
    state = parse_qs(authorize.query)["state"][0]
    code = w.fake.issue_oauth_code(team, team_name="Acme Corp")
    return w.http.get(f"{w.url}/slack/oauth_redirect", params={"code": code, "state": state})


def _posts(w: OAuthWorld, team: str | None = None) -> list:
    return [c for c in w.fake.calls_to("chat.postMessage") if team is None or c.team == team]


def test_an_install_from_a_partners_link_maps_the_workspace_to_the_partner(oauth_world, cli):
    w = oauth_world
    done = _install(w, cli, "acme", ACME)
    assert done.status_code == 200, done.text
    with w.engine.connect() as conn:
        team = teams.team(conn, ACME)
        assert team is not None and team.partner_key == "acme" and team.sendable
        assert teams.bot_token(conn, ACME) == w.fake.token_of(ACME)


def test_the_jobs_reach_the_partners_reps_with_its_own_token_and_no_bot_token(oauth_world, cli):
    w = oauth_world
    assert _install(w, cli, "acme", ACME).status_code == 200
    result = cli("jobs", "run", "next-actions", "--as-of", MORNING, env=w.env)
    assert result.exit_code == 0, result.output
    dms = _posts(w)
    assert dms, result.output
    assert {c.team for c in dms} == {ACME}
    assert {c.token for c in dms} == {w.fake.token_of(ACME)}
    opened = {c.params["users"] for c in w.fake.calls_to("conversations.open")}
    assert opened <= {REP_EN, REP_JA}


def test_prm_from_the_partners_workspace_sees_that_partner_only(oauth_world, cli):
    w = oauth_world
    assert _install(w, cli, "acme", ACME).status_code == 200
    for n, user in enumerate(("UACMEBOSS", REP_EN, MANAGER), 1):  # no manager from there
        response_url = w.fake.response_url()
        form = {
            "team_id": ACME,
            "user_id": user,
            "command": "/prm",
            "text": "kpi",
            "response_url": response_url,
            "trigger_id": "1.2.3",
            "channel_id": "CACME1",
        }
        assert w.signed(urlencode(form), "application/x-www-form-urlencoded").status_code == 200
        path = urlsplit(response_url).path
        w.fake.wait_for("response_url", count=n)
        answer = json.dumps([c.params for c in w.fake.calls_to("response_url") if c.url == path])
        # A rep reads "Your partner"; anyone else there reads the partner's name.
        assert ("Your partner:" if user == REP_EN else "Acme Corp:") in answer, user
        assert not [name for name in OTHER_NAMES if name in answer], user


def test_app_uninstalled_stops_every_send_to_that_workspace(oauth_world, cli):
    w = oauth_world
    assert _install(w, cli, "acme", ACME).status_code == 200
    envelope = {
        "token": "legacy",
        "team_id": ACME,
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": f"Ev{time.monotonic_ns()}",
        "event_time": 1,
        "event": {"type": "app_uninstalled"},
    }
    w.fake.uninstall(ACME)
    for _ in range(2):  # Slack retries events: the second changes nothing
        assert w.signed(json.dumps(envelope), "application/json").status_code == 200
    w.fake.wait_for("views.open", 0)  # the listener works after its ack: let it finish
    with w.engine.connect() as conn:
        team = teams.team(conn, ACME)
        assert team is not None and not team.sendable
        assert teams.bot_token(conn, ACME) is None
    result = cli("jobs", "run", "next-actions", "--as-of", MORNING, env=w.env)
    assert result.exit_code == 0, result.output
    assert "skipped:uninstalled" in result.output
    assert _posts(w) == []
