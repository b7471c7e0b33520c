"""The rows of Slack Connect (bot.store.invites) and what the events write through
bot.domain.connect: real SQLite and PostgreSQL, each write idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select

from bot.domain import connect as rules
from bot.store import invites, teams
from bot.store.tables import ChannelMember, PartnerInvite, PartnerUser, SlackTeam
from tests.builders import Store

NOW = datetime(2026, 11, 1, 9, tzinfo=UTC)
LATER = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
def store(engine):
    with engine.begin() as conn:  # channel_member has no partner to cascade from
        conn.execute(delete(ChannelMember))
    s = Store(engine)
    s.partner("acme", name="Acme", manager="UMGR")
    s.user("acme-taro", "acme", name="Taro")  # taro's address: acme-taro@example.com
    s.user("acme-hana", "acme", name="Hana", slack_user_id="UHANA")
    s.partner("globex", name="Globex")
    return s


def _pid(conn, key="acme"):
    found = invites.partner_channel(conn, key)
    assert found is not None
    return found.id


def test_a_partner_gets_one_channel(engine, store):
    with engine.begin() as conn:
        pid = _pid(conn)
        assert invites.set_channel(conn, pid, "C1") == "C1"
        assert invites.set_channel(conn, pid, "C2") == "C1"  # the first one stands
        assert invites.is_partner_channel(conn, "C1") and not invites.is_partner_channel(conn, "C2")
        found = invites.partner_channel(conn, "acme")
    assert found is not None and found.channel_id == "C1" and found.channel_team_id is None
    assert found.manager_slack_id == "UMGR"
    with engine.connect() as conn:
        assert invites.partner_channel(conn, "nope") is None


def test_an_address_is_claimed_once_and_a_failed_one_again(engine, store):
    with engine.begin() as conn:
        pid = _pid(conn)
        assert invites.claim(conn, pid, "a@x.com", "C1", False, NOW)
        assert not invites.claim(conn, pid, "a@x.com", "C1", True, NOW)  # pending: not again
        invites.record_sent(conn, pid, "a@x.com", "I1", NOW)
        assert invites.claim(conn, pid, "b@x.com", "C1", True, NOW)
        invites.record_failed(conn, pid, "b@x.com", "not_paid", NOW)
        assert invites.statuses(conn, pid) == {"a@x.com": "pending", "b@x.com": "failed"}
        assert invites.claim(conn, pid, "b@x.com", "C1", False, LATER)  # failed: again
        row = conn.execute(select(PartnerInvite).where(PartnerInvite.email == "b@x.com")).one()
    assert row.status == "pending" and row.error is None and row.limited is False
    with engine.begin() as conn:  # another partner may invite the same address
        assert invites.claim(conn, _pid(conn, "globex"), "a@x.com", "C9", False, NOW)


def _accept(conn, invite_id="I1", user="UTARO", team="TPARTNER", email="acme-taro@example.com"):
    return rules.accepted(
        conn, invite_id=invite_id, channel_id="C1", recipient_email=email, user_id=user,
        team_id=team, host_team_id="TVENDOR", now=LATER,
    )  # fmt: skip


def _invite(engine, email="acme-taro@example.com", invite_id="I1"):
    with engine.begin() as conn:
        pid = _pid(conn)
        invites.set_channel(conn, pid, "C1")
        invites.claim(conn, pid, email, "C1", False, NOW)
        invites.record_sent(conn, pid, email, invite_id, NOW)


def test_an_accepted_invitation_links_team_rep_and_member_once(engine, store):
    _invite(engine)
    for _ in range(2):  # Slack retries the event: the same rows
        with engine.begin() as conn:
            assert _accept(conn, email="ACME-Taro@Example.com")
    with engine.connect() as conn:
        inv = conn.execute(select(PartnerInvite)).one()
        taro = conn.execute(select(PartnerUser).where(PartnerUser.key == "acme-taro")).one()
        members = invites.members(conn, "C1")
        assert teams.partner_of_team(conn, "TPARTNER") == "acme"
        assert conn.execute(select(SlackTeam)).all().__len__() == 1
    assert (inv.status, inv.slack_user_id, inv.slack_team_id) == ("accepted", "UTARO", "TPARTNER")
    assert (taro.slack_user_id, taro.slack_team_id) == ("UTARO", "TPARTNER")
    assert members == {"UTARO": "TPARTNER"}


def test_a_rep_with_another_slack_account_keeps_it(engine, store):
    _invite(engine, "acme-hana@example.com")
    with engine.begin() as conn:
        assert _accept(conn, user="UOTHER", email="acme-hana@example.com")
        hana = conn.execute(select(PartnerUser).where(PartnerUser.key == "acme-hana")).one()
    assert (hana.slack_user_id, hana.slack_team_id) == ("UHANA", None)


def test_the_vendors_own_team_never_becomes_the_partners(engine, store):
    _invite(engine)
    with engine.begin() as conn:
        assert _accept(conn, team="TVENDOR")
        assert teams.team(conn, "TVENDOR") is None


def test_an_invitation_found_by_channel_and_address_when_its_id_was_lost(engine, store):
    _invite(engine, invite_id=None)
    with engine.begin() as conn:
        assert _accept(conn, invite_id="IUNKNOWN")
        assert conn.execute(select(PartnerInvite.status)).scalar() == "accepted"


def test_events_about_invitations_we_never_sent_are_ignored(engine, store):
    with engine.begin() as conn:
        assert not _accept(conn, invite_id="INOPE", email="who@else.com")
        assert not rules.declined(
            conn, invite_id="INOPE", channel_id="C1", recipient_email=None, now=NOW
        )
        assert not rules.joined(conn, "CNOTOURS", "U1", "T1", NOW)
        assert invites.members(conn, "CNOTOURS") == {}
        assert conn.execute(select(SlackTeam)).first() is None


def test_declined_then_replayed_and_accepted_stays_accepted(engine, store):
    _invite(engine)
    with engine.begin() as conn:
        for _ in range(2):
            assert rules.declined(
                conn, invite_id="I1", channel_id="C1", recipient_email=None, now=LATER
            )
        assert conn.execute(select(PartnerInvite.status)).scalar() == "declined"
        assert _accept(conn)
        rules.declined(conn, invite_id="I1", channel_id="C1", recipient_email=None, now=LATER)
        assert conn.execute(select(PartnerInvite.status)).scalar() == "accepted"


def test_joining_a_partner_channel_twice_is_one_member(engine, store):
    _invite(engine)
    with engine.begin() as conn:
        assert rules.joined(conn, "C1", "UX", None, NOW)
        assert rules.joined(conn, "C1", "UX", "TX", LATER)  # the team learnt later
        assert rules.joined(conn, "C1", "UX", "TY", LATER)  # …and kept
        assert invites.members(conn, "C1") == {"UX": "TX"}
