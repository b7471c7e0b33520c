"""What the next tier needs, where reps look: `/prm me` (both languages), and the
`next_tier` nudge rule for a rep whose partner is one requirement away."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.nudges.rules import DEFAULT_RULES, RepFacts, choose, load_rules
from bot.slack.messages import render_message
from tests.builders import Store

ENV = {"PRM_AS_OF": "2026-11-01T00:00:00Z"}
REP = "UREPTIER1"


def seed(engine) -> None:
    s = Store(engine).asset("guide", "onboarding")
    s.partner("acme", "2025-01-01", name="Acme Corp", manager="UMGRT", tier="registered")
    s.user("acme-taro", "acme", "2025-01-05", slack_user_id=REP, name="Taro Sato")
    s.event("deal.won", "2026-10-10T00:00:00Z", "acme", "acme-taro", "D1")  # silver: 1 won ✓


def test_me_names_what_the_partner_needs_for_the_next_tier(cli, engine, seeded):
    seeded(seed)
    en = cli("slack", "ask", REP, "me", "--locale", "en", env=ENV)
    assert en.exit_code == 0, en.output
    assert "1 more certified rep for silver" in en.stdout
    ja = cli("slack", "ask", REP, "me", "--locale", "ja", env=ENV)
    assert "シルバー" in ja.stdout and "認定" in ja.stdout


def test_the_next_tier_rule_and_its_message():
    rules = load_rules(DEFAULT_RULES)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    done = {t: now for t in ("user.login", "content.downloaded", "lead.registered",
                             "deal.registered")}  # fmt: skip
    gap = {"next": "gold", "qualifies": "silver", "assigned": "silver",
           "missing": [{"measure": "won_deals_12m", "value": 2}]}  # fmt: skip
    busy = RepFacts(1, "acme-taro", first=done, last=done, last_active=now,
                    onboarding_downloads=1)  # fmt: skip
    assert choose(rules, busy, now) is None  # nothing to do, and no tier in reach
    close = RepFacts(1, "acme-taro", first=done, last=done, last_active=now,
                     onboarding_downloads=1, tier_gap=gap)  # fmt: skip
    rule = choose(rules, close, now)
    assert rule is not None and rule.id == "next_tier"
    for locale, words in (("en", "2 more won deals"), ("ja", "ゴールド")):
        message = render_message(
            "nudge", locale, tier=gap, money=str, rule={"id": rule.id, "target": rule.target},
            rep={"key": "acme-taro", "name": "Taro", "partner_name": "Acme Corp"},
            mention=None, assets=[], portal_url="", button=None, stop_action="nudge_stop_tips",
        )  # fmt: skip
        assert words in message.text and "Acme Corp" in message.text
