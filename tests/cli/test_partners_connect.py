"""`prm partners connect`: the partner's channel over Slack Connect, against the fake
Slack (the real WebClient) and a real database. Run again, it changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.store.tables import Delivery, Partner, PartnerInvite
from tests.slack.conftest import seed
from tests.slack.payloads import words
from tests.slackfake import FakeSlack, _truthy

CREATE, INVITE, POST = "conversations.create", "conversations.inviteShared", "chat.postMessage"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token="xoxb-test") as slack:
        yield slack


@pytest.fixture
def prm(cli, engine, fake):
    seed(engine)
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "PRM_SLACK_API_URL": fake.base_url,
           "PRM_AS_OF": "2026-11-01T00:00:00Z"}  # fmt: skip
    return lambda *args: cli("partners", "connect", *args, env=env)


def invites(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r.email: dict(r._mapping) for r in conn.execute(select(PartnerInvite.__table__))}


def channel_of(engine, key: str = "acme") -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(Partner.slack_channel_id).where(Partner.key == key)).scalar()


def test_connect_creates_once_and_invites_each_address_once(prm, engine, fake):
    out = prm("acme", "--email", " Taro@Acme.example ", "--email", "hana@acme.example")
    assert out.exit_code == 0, out.output
    (created,) = fake.calls_to(CREATE)
    assert created.params["name"] == "prm-acme" and _truthy(created.params["is_private"])
    channel = channel_of(engine)
    assert channel and created.params and "created channel #prm-acme" in out.output
    sent = fake.calls_to(INVITE)
    assert [c.params["emails"] for c in sent] == ["taro@acme.example", "hana@acme.example"]
    assert all(c.params["channel"] == channel for c in sent)
    assert all(c.params["external_limited"] == "false" for c in sent)  # Slack's default: true
    assert {e: r["status"] for e, r in invites(engine).items()} == {
        "taro@acme.example": "pending", "hana@acme.example": "pending"
    }  # fmt: skip
    assert all(r["invite_id"] and r["limited"] is False for r in invites(engine).values())
    (welcome,) = fake.calls_to(POST)
    assert welcome.params["channel"] == channel
    assert "welcome message posted" in out.output
    assert out.output.strip().splitlines()[-1] == (
        "acme: channel " + channel + "; 2 invited, 0 already, 0 failed, 0 invalid: done"
    )
    # Again: no second channel, invitation or welcome; a new address only is invited.
    again = prm("acme", "--email", "taro@acme.example", "--email", "HANA@acme.example")
    assert again.exit_code == 0, again.output
    assert "taro@acme.example: already invited (pending), skipped" in again.output
    assert "welcome message already posted" in again.output
    assert len(fake.calls_to(CREATE)) == 1 and len(fake.calls_to(INVITE)) == 2
    assert len(fake.calls_to(POST)) == 1
    more = prm("acme", "--email", "taro@acme.example", "--email", "jiro@acme.example")
    assert more.exit_code == 0, more.output
    assert [c.params["emails"] for c in fake.calls_to(INVITE)][2:] == ["jiro@acme.example"]
    assert len(fake.calls_to(CREATE)) == 1 and len(fake.calls_to(POST)) == 1
    with engine.connect() as conn:
        keys = [r.key for r in conn.execute(select(Delivery.key))]
    assert keys == [f"partners:welcome:{channel}"]
    fake.validate_payloads()


def test_the_welcome_is_valid_block_kit_in_both_languages(prm, fake):
    assert prm("acme").exit_code == 0  # no address: the channel and its welcome only
    (welcome,) = fake.calls_to(POST)
    blocks = welcome.params["blocks"]
    assert [b["type"] for b in blocks].count("header") == 2 and {"type": "divider"} in [
        {"type": b["type"]} for b in blocks
    ]
    assert "Welcome to the Acme Corp partner channel" in welcome.params["text"]
    assert "`/prm help`" in words(welcome.params)
    assert fake.calls_to(INVITE) == []
    fake.validate_payloads()


def test_limited_and_public(prm, fake):
    out = prm("globex", "--email", "g@globex.example", "--limited", "--public")
    assert out.exit_code == 0, out.output
    assert not _truthy(fake.calls_to(CREATE)[0].params["is_private"])
    assert fake.calls_to(INVITE)[0].params["external_limited"] == "true"


def test_an_invalid_address_is_not_sent(prm, fake):
    out = prm("acme", "--email", "not-an-address", "--email", "ok@acme.example")
    assert out.exit_code == 1
    assert "not-an-address: not an email address, not sent" in out.output
    assert [c.params["emails"] for c in fake.calls_to(INVITE)] == ["ok@acme.example"]
    assert out.output.strip().endswith("1 invalid: NOT done")


def test_an_unknown_partner(prm, fake):
    out = prm("nobody", "--email", "a@b.example")
    assert out.exit_code == 1 and "unknown partner 'nobody'" in out.output
    assert "Traceback" not in out.output and fake.calls == []


INVITE_ERRORS = {
    "restricted_action": "the workspace's admins do not allow",
    "not_allowed_token_type": "bot token (xoxb-…)",
    "not_paid": "Slack Connect needs a paid Slack plan (not_paid)",
    "connection_limit_exceeded_pending": "already has an invitation waiting",
    "missing_scope": "reinstall it with the current manifest",
    "channel_not_found": "(channel_not_found)",
    "ratelimited": "rate limiting",
    "invite_lookup_error": "Slack said invite_lookup_error",
}


@pytest.mark.parametrize(("code", "words"), INVITE_ERRORS.items(), ids=list(INVITE_ERRORS))
def test_each_invite_error_is_one_line_and_a_failure_retried_later(prm, engine, fake, code, words):
    fake.fail_next(INVITE, code)
    out = prm("acme", "--email", "taro@acme.example")
    assert out.exit_code == 1, out.output
    (line,) = [ln for ln in out.output.splitlines() if ln.startswith("taro@acme.example")]
    assert words in line and "Traceback" not in out.output
    row = invites(engine)["taro@acme.example"]
    assert (row["status"], row["error"]) == ("failed", code)
    again = prm("acme", "--email", "taro@acme.example")  # tried again, and taken now
    assert again.exit_code == 0, again.output
    assert len(fake.calls_to(INVITE)) == 2 and invites(engine)["taro@acme.example"]["invite_id"]


CREATE_ERRORS = {
    "restricted_action": "the workspace's admins do not allow",
    "not_allowed_token_type": "bot token (xoxb-…)",
    "missing_scope": "reinstall it with the current manifest",
    "name_taken": "#prm-acme exists already (name_taken): adopt it with --channel",
    "ratelimited": "rate limiting",
    "fatal_error": "Slack said fatal_error",
}


@pytest.mark.parametrize(("code", "words"), CREATE_ERRORS.items(), ids=list(CREATE_ERRORS))
def test_a_channel_slack_will_not_make_invites_nobody(prm, engine, fake, code, words):
    fake.fail_next(CREATE, code)
    out = prm("acme", "--email", "taro@acme.example")
    assert out.exit_code == 1
    assert f"channel not made: {words}" in out.output or words in out.output, out.output
    assert "Traceback" not in out.output
    assert fake.calls_to(INVITE) == [] and fake.calls_to(POST) == []
    assert channel_of(engine) is None and invites(engine) == {}


def test_name_taken_then_adopting_the_channel(prm, engine, fake):
    existing = WebClient(token="xoxb-test", base_url=fake.base_url).conversations_create(
        name="prm-acme", is_private=True
    )["channel"]["id"]
    taken = prm("acme", "--email", "taro@acme.example")
    assert taken.exit_code == 1 and "--channel" in taken.output
    adopted = prm("acme", "--channel", existing, "--email", "taro@acme.example")
    assert adopted.exit_code == 0, adopted.output
    assert f"using channel {existing}" in adopted.output and channel_of(engine) == existing
    assert len(fake.calls_to(CREATE)) == 2  # the test's own, and the refused one
    assert fake.calls_to(INVITE)[0].params["channel"] == existing
    other = prm("acme", "--channel", "COTHER")
    assert other.exit_code == 1 and f"the partner's channel is {existing} already" in other.output


def test_adopting_a_channel_slack_does_not_know(prm, engine, fake):
    out = prm("acme", "--channel", "CNOPE", "--email", "taro@acme.example")
    assert out.exit_code == 1 and "(channel_not_found)" in out.output
    assert channel_of(engine) is None and fake.calls_to(INVITE) == []


def test_slack_unreachable_is_one_line(prm, engine, fake):
    fake.down()
    try:
        out = prm("acme", "--email", "taro@acme.example")
    finally:
        fake.up()
    assert out.exit_code == 1 and "could not be reached" in out.output
    assert "Traceback" not in out.output and channel_of(engine) is None


def test_without_a_token(cli, engine):
    seed(engine)
    out = cli("partners", "connect", "acme", env={"SLACK_BOT_TOKEN": ""})
    assert out.exit_code == 1 and "SLACK_BOT_TOKEN" in out.output


def test_a_rate_limited_invitation_is_retried_by_slack_sdk(prm, engine, fake):
    fake.rate_limit_next(INVITE, retry_after=0)  # HTTP 429: slack_sdk waits and asks again
    out = prm("acme", "--email", "taro@acme.example")
    assert out.exit_code == 0, out.output
    assert len(fake.calls_to(INVITE)) == 2 and "taro@acme.example: invited" in out.output
