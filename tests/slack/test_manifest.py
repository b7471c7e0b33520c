"""`manifest.yml` is a valid Slack app manifest and asks for exactly what `bot.slack.ids` says.

The schema is Slack's published app-manifest JSON schema (MIT, Slack Technologies), vendored
in `tests/slack/data/` so a clone validates on its own; where the project's `shared/slack/`
sits beside the repo, the copy must equal it.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.slack.ids import BOT_EVENTS, BOT_SCOPES, COMMAND

ROOT = Path(__file__).parents[2]
MANIFEST = ROOT / "manifest.yml"
README = ROOT / "README.md"
SCHEMA = Path(__file__).parent / "data" / "manifest.schema.1.0.0.json"
SHARED_SCHEMA = Path(__file__).parents[3] / "shared" / "slack" / "manifest.schema.1.0.0.json"
PLACEHOLDER = "https://prm.example.com"


def _manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return _manifest()


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)  # the draft the schema declares (7)
    cls.check_schema(schema)
    return cls(schema)


def test_vendored_schema_is_slacks() -> None:
    if not SHARED_SCHEMA.exists():
        pytest.skip(f"no shared/ beside the repo to compare with ({SHARED_SCHEMA})")
    assert SCHEMA.read_bytes() == SHARED_SCHEMA.read_bytes()


def _errors(validator: jsonschema.protocols.Validator, document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_manifest_validates_against_slacks_schema(validator, manifest) -> None:
    assert _errors(validator, manifest) == []


def _unknown_top_level_key(m: dict[str, Any]) -> None:
    m["scopes"] = ["commands"]


def _display_name_too_long(m: dict[str, Any]) -> None:
    m["display_information"]["name"] = "P" * 36


def _long_description_too_short(m: dict[str, Any]) -> None:
    m["display_information"]["long_description"] = "Partner KPIs in Slack."


def _command_without_slash(m: dict[str, Any]) -> None:
    m["features"]["slash_commands"][0]["command"] = "prm"


def _interactivity_without_is_enabled(m: dict[str, Any]) -> None:
    del m["settings"]["interactivity"]["is_enabled"]


@pytest.mark.parametrize(
    "break_it",
    [
        _unknown_top_level_key,
        _display_name_too_long,
        _long_description_too_short,
        _command_without_slash,
        _interactivity_without_is_enabled,
    ],
)
def test_the_validator_catches_a_broken_manifest(validator, manifest, break_it) -> None:
    broken = copy.deepcopy(manifest)
    break_it(broken)
    assert _errors(validator, broken), f"{break_it.__name__} was not caught"


def test_display_information(manifest) -> None:
    info = manifest["display_information"]
    assert info["name"] == "PRM"
    assert manifest["features"]["bot_user"]["display_name"] == "prm"
    assert 0 < len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000


def test_bot_scopes_are_exactly_the_apps(manifest) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert sorted(scopes["bot"]) == sorted(BOT_SCOPES)
    assert len(scopes["bot"]) == len(set(scopes["bot"]))
    assert set(scopes) == {"bot"}  # no user scopes, no optional ones


def test_the_one_slash_command(manifest) -> None:
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["description"].strip()
    hint = command["usage_hint"]
    for word in ("kpi", "funnel", "content", "deals", "reps", "retention", "partner", "me"):
        assert re.search(rf"\b{word}\b", hint), word
    assert "help" in hint
    assert command["should_escape"] is False
    assert command["url"] == f"{PLACEHOLDER}/slack/events"


def test_events_home_tab_and_interactivity(manifest) -> None:
    settings = manifest["settings"]
    events = settings["event_subscriptions"]
    assert events["bot_events"] == list(BOT_EVENTS)
    assert "user_events" not in events
    assert events["request_url"] == f"{PLACEHOLDER}/slack/events"
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": f"{PLACEHOLDER}/slack/events",
    }
    app_home = manifest["features"]["app_home"]
    assert app_home["home_tab_enabled"] is True
    assert app_home["messages_tab_enabled"] is True
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_oauth_redirect_url(manifest) -> None:
    assert manifest["oauth_config"]["redirect_urls"] == [f"{PLACEHOLDER}/slack/oauth_redirect"]


def _readme_scopes_table() -> dict[str, str]:
    """The README's scopes table: the first table whose header starts with `| scope |`."""
    rows: dict[str, str] = {}
    in_table = False
    for line in README.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\|\s*scope\s*\|", line):
            in_table = True
            continue
        if in_table:
            if not line.startswith("|"):
                break
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if set(cells[0]) <= set("-: "):
                continue
            rows[cells[0].strip("`")] = cells[1] if len(cells) > 1 else ""
    return rows


def test_readme_justifies_every_scope() -> None:
    table = _readme_scopes_table()
    assert set(table) == set(BOT_SCOPES), "the README's scopes table must list exactly BOT_SCOPES"
    for scope, reason in BOT_SCOPES.items():
        assert reason in table[scope].replace("`", ""), (
            f"README: {scope!r} should give the reason {reason!r}"
        )
