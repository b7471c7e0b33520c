"""Partner channels over Slack Connect, end to end in Slack: the card's button (managers
and admins only), its form (authorised again on submit), and the events Slack sends
about invitations and members (each replayed: nothing changes twice)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from sqlalchemy import delete, select

from bot.slack.ids import (
    CONNECT_ACCESS,
    CONNECT_EMAILS,
    CONNECT_LIMITED,
    CONNECT_VIEW,
    PARTNER_CONNECT,
)
from bot.store.tables import ChannelMember, Partner, PartnerInvite, PartnerUser, SlackTeam
from tests.slack.conftest import ADMIN, CS, MANAGER, MANAGER_2, REP_EN, REP_JA, REP_OTHER, STRANGER
from tests.slack.payloads import button_press, words
from tests.slackfake import FakeSlack, _truthy


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token="xoxb-test") as slack:
        for user, locale in ((ADMIN, "en-US"), (MANAGER, "en-US"), (MANAGER_2, "ja-JP"),
                             (CS, "en-GB"), (REP_EN, "ja-JP"), (REP_JA, "en-US"),
                             (REP_OTHER, "en-US"), (STRANGER, "en-US")):  # fmt: skip
            slack.add_user(user, locale=locale)
        yield slack


@pytest.fixture(autouse=True)
def _no_members_left(engine) -> None:
    with engine.begin() as conn:  # channel_member has no partner to cascade from
        conn.execute(delete(ChannelMember))


def card(world, user: str, partner: str = "acme") -> dict:
    return world.answer(user, f"partner {partner}")


def connect_buttons(payload: dict) -> list[dict]:
    return [
        e
        for b in payload.get("blocks", [])
        if b.get("type") == "actions"
        for e in b["elements"]
        if e.get("action_id") == PARTNER_CONNECT
    ]


def press(world, user: str, value: str = "acme"):
    body = button_press(user, PARTNER_CONNECT, value, world.fake.response_url(), trigger_id="7.7.7")
    return world.post(body, "application/x-www-form-urlencoded")


def submission(user: str, partner: str, emails: str, limited: bool = False, view_id="V9"):
    chosen = [{"value": CONNECT_LIMITED}] if limited else []
    payload = {
        "type": "view_submission",
        "team": {"id": "T0001"},
        "user": {"id": user, "team_id": "T0001"},
        "api_app_id": "A0001",
        "trigger_id": "1.2.3",
        "view": {
            "id": view_id,
            "type": "modal",
            "callback_id": CONNECT_VIEW,
            "private_metadata": json.dumps({"partner": partner}),
            "state": {
                "values": {
                    CONNECT_EMAILS: {"value": {"type": "plain_text_input", "value": emails}},
                    CONNECT_ACCESS: {"value": {"type": "checkboxes", "selected_options": chosen}},
                }
            },
        },
    }
    return urlencode({"payload": json.dumps(payload)})


def submit(world, user: str, partner: str, emails: str, **kw):
    return world.post(submission(user, partner, emails, **kw), "application/x-www-form-urlencoded")


def rows(world, model) -> list[dict]:
    with world.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(model.__table__))]


def partner(world, key: str = "acme") -> dict:
    return next(p for p in rows(world, Partner) if p["key"] == key)


# --- the button ---------------------------------------------------------------------------


def test_the_button_is_for_the_partners_manager_and_admins_only(world):
    for user in (MANAGER, ADMIN):
        (button,) = connect_buttons(card(world, user))
        assert button["value"] == "acme" and button["text"]["text"] == "Connect on Slack"
    for user in (MANAGER_2, CS, REP_EN, REP_JA):
        assert connect_buttons(card(world, user)) == [], user
    assert connect_buttons(card(world, MANAGER_2, "initech"))  # their own partner


def test_once_the_partner_has_a_channel_the_button_invites_more(world):
    with world.engine.begin() as conn:
        conn.execute(Partner.__table__.update().where(Partner.key == "acme")
                     .values(slack_channel_id="CACME"))  # fmt: skip
    (button,) = connect_buttons(card(world, MANAGER))
    assert button["text"]["text"] == "Invite more people"


def test_the_press_opens_the_form_for_the_manager_and_refuses_anyone_else(world):
    assert press(world, MANAGER).status_code == 200
    (opened,) = world.fake.wait_for("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == CONNECT_VIEW
    assert json.loads(view["private_metadata"]) == {"partner": "acme"}
    assert {b.get("block_id") for b in view["blocks"]} >= {CONNECT_EMAILS, CONNECT_ACCESS}
    assert press(world, REP_EN).status_code == 200
    refusal = world.fake.wait_for("response_url")[-1]
    assert "Only this partner's manager" in words(refusal.params)
    assert len(world.fake.calls_to("views.open")) == 1


# --- the form -----------------------------------------------------------------------------


def test_a_submission_connects_the_partner_and_answers_in_a_dm(world):
    fake = world.fake
    response = submit(world, MANAGER, "acme", "Taro@Acme.example\nhana@acme.example", limited=True)
    assert response.status_code == 200 and response.text in ("", "null"), response.text
    (created,) = fake.wait_for("conversations.create")
    assert created.params["name"] == "prm-acme" and _truthy(created.params["is_private"])
    invited = fake.wait_for("conversations.inviteShared", 2)
    assert sorted(c.params["emails"] for c in invited) == ["hana@acme.example", "taro@acme.example"]
    assert all(c.params["external_limited"] == "true" for c in invited)
    channel = partner(world)["slack_channel_id"]
    assert channel and channel.startswith("C")  # recorded on the partner
    posts = fake.wait_for("chat.postMessage", 2)
    welcome = next(p for p in posts if p.params["channel"] == channel)
    assert "Welcome to the Acme Corp partner channel" in words(welcome.params)
    # Both languages in one message: the English half, a divider, the Japanese half
    # (its words come from the catalog: tests/slack/test_every_message.py checks them).
    kinds = [b["type"] for b in welcome.params["blocks"]]
    assert kinds.count("header") == 2 and "divider" in kinds
    dm = next(p for p in posts if p.params["channel"] != channel)
    assert "Invited taro@acme.example" in words(dm.params)
    # The same submission again (a replay): nothing more is created, invited or said.
    assert submit(world, MANAGER, "acme", "Taro@Acme.example\nhana@acme.example",
                  limited=True).status_code == 200  # fmt: skip
    fake.wait_for("views.open", 0)
    assert len(fake.calls_to("conversations.create")) == 1
    assert len(fake.calls_to("conversations.inviteShared")) == 2
    assert len(fake.calls_to("chat.postMessage")) == 2


def test_a_submission_from_anyone_else_does_nothing(world):
    for user in (REP_EN, MANAGER_2, CS, STRANGER):
        response = submit(world, user, "acme", "taro@acme.example")
        assert response.status_code == 200
        answer = response.json()
        assert answer["response_action"] == "errors", user
        said = answer["errors"][CONNECT_EMAILS]  # in the user's language (MANAGER_2: ja)
        assert "Only this partner's manager" in said or "担当パートナーマネージャー" in said
    response = submit(world, MANAGER, "initech", "x@initech.example")  # not their partner
    assert response.json()["response_action"] == "errors"
    assert world.fake.calls_to("conversations.create") == []
    assert world.fake.calls_to("conversations.inviteShared") == []
    assert rows(world, PartnerInvite) == [] and partner(world)["slack_channel_id"] is None


def test_a_form_with_no_or_bad_addresses_stays_open(world):
    empty = submit(world, ADMIN, "acme", "  ").json()
    assert "at least one email address" in empty["errors"][CONNECT_EMAILS]
    bad = submit(world, ADMIN, "acme", "ok@acme.example, nope").json()
    assert "nope" in bad["errors"][CONNECT_EMAILS]
    assert world.fake.calls_to("conversations.create") == []


# --- the events ---------------------------------------------------------------------------


def _connected(world, emails: str = "initech-ivan@example.com") -> str:
    submit(world, ADMIN, "initech", emails)
    world.fake.wait_for("conversations.inviteShared", len(emails.split()))
    world.fake.wait_for("chat.postMessage", 2)
    return str(partner(world, "initech")["slack_channel_id"])


def _invite_id(world, email: str) -> str:
    return next(r["invite_id"] for r in rows(world, PartnerInvite) if r["email"] == email)


def accepted_event(invite_id: str, channel: str, user: str, team: str, email: str) -> dict:
    return {
        "type": "shared_channel_invite_accepted",
        "approval_required": False,
        "invite": {"id": invite_id, "recipient_email": email, "date_created": 1},
        "channel": {"id": channel, "is_private": True, "is_im": False, "name": "prm-initech"},
        "teams_in_channel": [{"id": "T0001"}, {"id": team}],
        "accepting_user": {"id": user, "team_id": team, "name": "ivan"},
        "event_ts": "1.2",
    }


def test_an_accepted_invitation_links_the_team_the_rep_and_the_member(world):
    channel = _connected(world)
    event = accepted_event(
        _invite_id(world, "initech-ivan@example.com"), channel, "UIVAN", "TINITECH",
        "Initech-Ivan@Example.com",
    )  # fmt: skip
    for _ in range(2):  # Slack retries
        assert world.event(event).status_code == 200
    world.fake.wait_for("views.open", 0)
    (invite,) = rows(world, PartnerInvite)
    assert (invite["status"], invite["slack_user_id"], invite["slack_team_id"]) == (
        "accepted", "UIVAN", "TINITECH",
    )  # fmt: skip
    (team,) = [t for t in rows(world, SlackTeam) if t["team_id"] == "TINITECH"]
    assert team["partner_id"] == partner(world, "initech")["id"]
    ivan = next(u for u in rows(world, PartnerUser) if u["key"] == "initech-ivan")
    assert (ivan["slack_user_id"], ivan["slack_team_id"]) == ("UIVAN", "TINITECH")
    assert [(m["channel_id"], m["slack_user_id"]) for m in rows(world, ChannelMember)] == [
        (channel, "UIVAN")
    ]


def test_a_declined_invitation_and_joins_are_recorded_once(world):
    channel = _connected(world, "a@initech.example b@initech.example")
    declined = {
        "type": "shared_channel_invite_declined",
        "invite": {"id": _invite_id(world, "b@initech.example")},
        "channel": {"id": channel},
        "declining_user": {"id": "UB", "team_id": "TINITECH"},
    }
    joined = {"type": "member_joined_channel", "user": "UA", "channel": channel,
              "channel_type": "G", "team": "TINITECH"}  # fmt: skip
    for _ in range(2):
        assert world.event(declined).status_code == 200
        assert world.event(joined).status_code == 200
    world.fake.wait_for("views.open", 0)
    status = {r["email"]: r["status"] for r in rows(world, PartnerInvite)}
    assert status == {"a@initech.example": "pending", "b@initech.example": "declined"}
    assert [(m["slack_user_id"], m["slack_team_id"]) for m in rows(world, ChannelMember)] == [
        ("UA", "TINITECH")
    ]


def test_events_about_other_channels_and_invitations_are_ignored(world):
    for event in (
        accepted_event("INOPE", "CNOPE", "UX", "TX", "x@y.example"),
        {"type": "shared_channel_invite_declined", "invite": {"id": "INOPE"}},
        {"type": "member_joined_channel", "user": "UX", "channel": "CNOPE", "team": "TX"},
        {"type": "shared_channel_invite_accepted"},  # garbled: nothing to read
        {"type": "member_joined_channel"},
    ):
        assert world.event(event).status_code == 200
    world.fake.wait_for("views.open", 0)
    assert rows(world, ChannelMember) == [] and rows(world, PartnerInvite) == []
    assert [t for t in rows(world, SlackTeam) if t["team_id"] == "TX"] == []
