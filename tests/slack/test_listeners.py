"""Every command and event the manifest subscribes to has a listener: Slack would
otherwise deliver requests that the app answers with 404."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import yaml

from tests.slack.conftest import MANAGER

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "manifest.yml").read_text())


def _command(world, name: str):
    form = {
        "command": name,
        "text": "help",
        "user_id": MANAGER,
        "team_id": "T0001",
        "response_url": world.fake.response_url(),
        "trigger_id": "1.2.3",
    }
    return world.post(urlencode(form), "application/x-www-form-urlencoded")


def test_every_manifest_command_has_a_listener(world):
    commands = [c["command"] for c in MANIFEST["features"]["slash_commands"]]
    assert commands
    for name in commands:
        assert _command(world, name).status_code == 200, name


def test_an_unlisted_command_is_unhandled(world):
    assert _command(world, "/not-ours").status_code == 404  # so the test above can fail


def test_every_manifest_event_has_a_listener(world):
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert events
    for name in events:
        # `message.im` arrives as a `message` event of channel type `im`.
        kind, _, channel_type = name.partition(".")
        extra = {"channel_type": channel_type, "channel": "D1"} if channel_type else {}
        response = world.event({"type": kind, "user": MANAGER, "tab": "home", **extra})
        assert response.status_code == 200, name
    response = world.event({"type": "reaction_added", "user": MANAGER})
    assert response.status_code == 404
