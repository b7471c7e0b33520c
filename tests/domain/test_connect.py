"""The rules of partner channels over Slack Connect (bot.domain.connect): pure functions."""

from __future__ import annotations

import pytest

from bot.domain import connect as c
from bot.domain.access import PartnerRef, RepRef, Role, Viewer


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("acme", "prm-acme"),
        ("Acme Corp", "prm-acme-corp"),
        ("ACME_jp", "prm-acme_jp"),
        ("株式会社アクメ", "prm-partner"),
        ("a..b//c", "prm-a-b-c"),
        ("-edge-", "prm-edge"),
        ("x" * 200, "prm-" + "x" * 76),
    ],
)
def test_channel_names_follow_slacks_rules(key, name):
    made = c.channel_name(key)
    assert made == name
    assert len(made) <= 80 and all(ch.islower() or ch.isdigit() or ch in "-_" for ch in made)


def test_a_long_name_cut_at_a_hyphen_loses_the_hyphen():
    made = c.channel_name("a" * 75 + "-bbbb")
    assert len(made) <= 80 and not made.endswith("-")


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ("  Taro@Partner.co.JP ", True),
        ("a.b+c@x-y.example.com", True),
        ("nobody", False),
        ("a@b", False),
        ("a b@c.com", False),
        ("Taro <taro@x.com>", False),
        ("a@b.com,c@d.com", False),
        ("a@-b.com", False),
        ("", False),
        ("x" * 320 + "@a.com", False),
    ],
)
def test_email_addresses(raw, ok):
    assert c.valid_email(c.normalise_email(raw)) is ok


def test_addresses_typed_in_a_form():
    typed = "Taro@X.com\n hanako@y.jp, taro@x.com;jiro@z.co.jp  "
    assert c.split_addresses(typed) == ["taro@x.com", "hanako@y.jp", "jiro@z.co.jp"]
    assert c.split_addresses("") == [] and c.split_addresses(None) == []


def test_who_gets_an_invitation():
    existing = {
        "p@x.com": "pending", "a@x.com": "accepted", "d@x.com": "declined", "f@x.com": "failed"
    }  # fmt: skip
    steps = c.plan_invites(
        ["P@x.com", "a@x.com", "d@x.com", "f@x.com", "new@x.com", "bad", " NEW@x.com "], existing
    )
    assert [(s.email, s.action, s.status) for s in steps] == [
        ("p@x.com", c.SKIP, "pending"),
        ("a@x.com", c.SKIP, "accepted"),
        ("d@x.com", c.SKIP, "declined"),
        ("f@x.com", c.INVITE, None),  # a failed invitation is tried again
        ("new@x.com", c.INVITE, None),  # once, however often it is typed
        ("bad", c.INVALID, None),
    ]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("restricted_action", "admins"),
        ("not_allowed_token_type", "xoxb"),
        ("not_paid", "paid Slack plan"),
        ("connection_limit_exceeded_pending", "already has an invitation waiting"),
        ("missing_scope", "conversations.connect:write"),
        ("channel_not_found", "channel_not_found"),
        ("ratelimited", "rate limiting"),
        ("something_new", "Slack said something_new"),
        ("unreachable:ConnectionRefusedError", "could not be reached"),
    ],
)
def test_each_slack_error_is_one_clear_line(code, words):
    text = c.line(c.Line(c.INVITE_FAILED, email="t@x.com", code=code))
    assert words in text and "\n" not in text and text.startswith("t@x.com: not invited")
    assert not c.Line(c.INVITE_FAILED, code=code).ok


def test_name_taken_suggests_adopting_the_channel():
    text = c.line(c.Line(c.CHANNEL_FAILED, code="name_taken", name="prm-acme"))
    assert "#prm-acme" in text and "--channel" in text


def test_every_kind_of_line_reads_as_a_sentence():
    kinds = [v for k, v in vars(c).items() if k.isupper() and isinstance(v, str) and "_" in v]
    for kind in set(kinds) & (c.NOT_OK | {c.CHANNEL_CREATED, c.INVITED, c.ALREADY}):
        assert c.line(c.Line(kind, email="a@x.com", channel="C1", code="x", name="n")) != kind


def test_summary_says_done_or_not():
    done = [c.Line(c.CHANNEL_CREATED, channel="C1"), c.Line(c.INVITED, email="a@x.com"),
            c.Line(c.ALREADY, email="b@x.com", code="pending")]  # fmt: skip
    assert c.summary("acme", "C1", done) == (
        "acme: channel C1; 1 invited, 1 already, 0 failed, 0 invalid: done"
    )
    bad = [*done, c.Line(c.INVALID_EMAIL, email="zz")]
    assert c.summary("acme", "C1", bad).endswith("1 invalid: NOT done")


def _viewer(role: Role, user: str = "UMGR") -> Viewer:
    rep = RepRef("k", "n", "acme", "Acme", None) if role is Role.REP else None
    partner = PartnerRef("acme", "Acme") if role is Role.PARTNER else None
    return Viewer(user, role, rep, partner)


def test_who_may_connect_a_partner():
    assert c.may_connect(_viewer(Role.ADMIN, "UADMIN"), "UMGR")
    assert c.may_connect(_viewer(Role.ADMIN, "UADMIN"), None)
    assert c.may_connect(_viewer(Role.MANAGER), "UMGR")
    assert not c.may_connect(_viewer(Role.MANAGER), "UOTHER")  # another manager's partner
    assert not c.may_connect(_viewer(Role.MANAGER), None)
    for role in (Role.CS, Role.REP, Role.PARTNER, Role.STRANGER):
        assert not c.may_connect(_viewer(role), "UMGR"), role
