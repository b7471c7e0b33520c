"""`prm slack ask` (the bot's answer, without Slack) and `prm slack manifest`."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from tests.slack.conftest import MANAGER, REP_EN, REP_JA, STRANGER, seed
from tests.slack.test_manifest import SCHEMA


def test_ask_answers_as_the_bot_would(cli, engine):
    seed(engine)
    env = {"PRM_AS_OF": "2026-11-01T00:00:00Z"}
    out = cli("slack", "ask", MANAGER, "kpi deals", env=env)
    assert out.exit_code == 0, out.output
    assert "[manager, en]" in out.output and "5 deals registered" in out.output
    assert "Initech" not in out.output
    refused = cli("slack", "ask", REP_EN, "partner globex", env=env)
    assert "only your own partner" in refused.output
    ja = cli("slack", "ask", REP_JA, "me", env=env)
    assert "[rep, ja]" in ja.output and "次のステップ" in ja.output
    stranger = cli("slack", "ask", STRANGER, "kpi", "--json", env=env)
    payload = json.loads(stranger.output)
    assert payload["response_type"] == "ephemeral" and "%" not in stranger.output
    bad = cli("slack", "ask", MANAGER, "kpi 2026-13", env=env)
    assert "is not a period" in bad.output


def test_ask_takes_the_listeners_path_for_tips_and_register(cli, engine):
    # Once a KPI report for anything it did not know; now what the Slack listener answers.
    seed(engine)
    env = {"PRM_AS_OF": "2026-11-01T00:00:00Z"}
    off = cli("slack", "ask", REP_EN, "tips off", env=env)
    assert off.exit_code == 0 and "Tips are off" in off.output and "%" not in off.output
    modal = cli("slack", "ask", REP_EN, "register deal", env=env)
    assert modal.output.startswith("[rep, en, modal]\n== ")
    view = json.loads(cli("slack", "ask", REP_EN, "register deal", "--json", env=env).output)
    assert view["view"]["type"] == "modal" and "blocks" in view["view"]
    assert "Only partner reps" in cli("slack", "ask", MANAGER, "register", env=env).output


def test_manifest_for_a_deployment(cli):
    out = cli("slack", "manifest", "--public-url", "https://prm.acme.com/")
    assert out.exit_code == 0, out.output
    data = yaml.safe_load(out.output)
    assert data["settings"]["event_subscriptions"]["request_url"] == (
        "https://prm.acme.com/slack/events"
    )
    assert "prm.example.com" not in out.output
    if SCHEMA.exists():
        jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(data)
    socket = yaml.safe_load(cli("slack", "manifest", "--socket").output)
    assert socket["settings"]["socket_mode_enabled"] is True


@pytest.mark.parametrize("url", ["http://prm.acme.com", "prm.acme.com"])
def test_manifest_refuses_urls_slack_cannot_post_to(cli, url):
    out = cli("slack", "manifest", "--public-url", url)
    assert out.exit_code == 2 and "https://" in out.output
