"""Every message kind has a test in both languages (issue 11 item 8).

`tests/slack/test_templates.py` renders the `/prm` answers (kpi, partner, me, help, refusal,
not_found, bad_argument, oops) and App Home through their real path; the scorecard has its
own tests (tests/jobs/test_scorecards.py). This renders every other kind — the button
results, the nudges, the digest, the worklist views, the registration notices, the DM reply
and the outage notice — with realistic data, in English and Japanese, and checks:

- the Block Kit is valid (the fake Slack API's checks, tests/slackfake.py);
- the Japanese is complete: every string the template looked up has a Japanese msgstr (a
  recording wrapper around the catalog), and the text reads as Japanese.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core import numbers
from bot.slack import catalogs, ids, messages
from bot.slack.blocks import message
from bot.slack.messages import TEMPLATES, escape_data
from bot.slack.notices import IDS as REG_IDS
from tests.slack.payloads import japanese_share, words
from tests.slackfake import _blocks_problems

TZ = ZoneInfo("Asia/Tokyo")
AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
REG = {
    "id": 7,
    "kind": "deal",
    "company": "株式会社みなと商事",
    "email_domain": "minato.example.jp",
    "contact": "佐藤 健",
    "amount": 1_250_000,
    "currency": "JPY",
    "expected_close": "2026-12-20",
    "notes": "年内に決裁予定",
    "partner_name": "株式会社アーティクル",
    "rep_name": "伊藤 美咲",
    "status": "pending",
    "conflict": {
        "company": "Minato Trading",
        "created_at": AT,
        "email_domain": "minato.example.jp",
        "kind": "lead",
        "status": "approved",
        "partner_name": "Acme Corp Ltd",
    },
    "decided_by": "UMGR1",
    "decided_at": AT,
    "expires_at": AT,
    "won_at": AT,
    "reject_reason": "重複登録のため",
}
ASSETS = [{"title": "パートナー向けクイックスタート", "url": "https://partners.example.com/c/1"}]
REP = {"key": "art-i", "name": "伊藤 美咲", "partner_name": "株式会社アーティクル"}
DIGEST_ENTRY = {
    "episode_id": 3,
    "why": "new",
    "open_days": 1,
    "partner": "株式会社青葉ネットワーク2",
}
HEALTH_DROP = {
    "kind": "health_drop",
    "total": 1,
    "more": 0,
    "entries": [
        {
            **DIGEST_ENTRY,
            "detail": {
                "score": 41.5,
                "points": -18.2,
                "reasons": [
                    {"component": "recency", "points": -12.1, "detail": {"idle_days": 21}},
                    {"component": "deals", "points": -6.1,
                     "detail": {"deals_30d": 0, "leads_30d": 0}},
                ],
            },
        }
    ],
}  # fmt: skip
DIGEST = {
    "day": "2026-11-01",
    "total": 3,
    "new": 2,
    "ack_action": ids.ALERT_ACK,
    "snooze_action": ids.ALERT_SNOOZE,
    "snooze_days": 7,
    "sections": [
        {
            "kind": "coaching",
            "total": 1,
            "more": 0,
            "entries": [
                {
                    **DIGEST_ENTRY,
                    "rep": "Bさん (rep B)",
                    "detail": {"leads": 22, "deals": 1, "conversion": 1 / 22},
                }
            ],
        },
        {
            "kind": "stuck",
            "total": 3,
            "more": 2,
            "entries": [
                {
                    **DIGEST_ENTRY,
                    "why": "reminder",
                    "detail": {"days": 40, "step": "logged_in", "next": "content_downloaded"},
                }
            ],
        },
        {
            "kind": "dormant",
            "total": 1,
            "more": 0,
            "entries": [{**DIGEST_ENTRY, "why": "open", "open_days": 3}],
        },
    ],
}
REASONS = [
    {"kind": "stuck", "days": 40, "step": "logged_in", "next": "content_downloaded", "reps": []},
    {
        "kind": "coaching",
        "days": None,
        "step": None,
        "next": None,
        "reps": ["伊藤 美咲", "Bさん (rep B)"],
    },
]
ACTION_KINDS = (
    "tips_stopped", "tips_on", "tips_off", "not_a_rep", "not_yours", "gone", "register_lead",
    "register_deal", "register_not_rep", "modal_failed", "already_decided", "not_approved",
    "alert_acked", "alert_snoozed", "tier_promoted", "tier_kept", "tier_stale",
)  # fmt: skip
CONNECT_LINES = [  # every line "Connect on Slack" may answer (bot.domain.connect.Line)
    {"kind": kind, "email": "taro@article.co.jp", "channel": "C0PRM", "code": code,
     "name": "prm-article"}
    for kind, code in (
        ("channel_created", None), ("channel_adopted", None), ("channel_kept", None),
        ("channel_other", "C0OTHER"), ("channel_failed", "name_taken"),
        ("not_a_member", None), ("welcome_posted", None), ("welcome_already", None),
        ("welcome_owed", "ratelimited"), ("welcome_failed", "restricted_action"),
        ("invited", None), ("already", "pending"), ("already", "accepted"),
        ("already", "declined"), ("in_channel", None), ("invalid_email", None),
        *(("invite_failed", code) for code in (
            "restricted_action", "not_allowed_token_type", "not_paid",
            "not_allowed_for_grid_workspace", "connection_limit_exceeded_pending",
            "missing_scope", "channel_not_found", "ratelimited", "invite_lookup_error",
        )),
        ("no_client", None),
    )
]  # fmt: skip
NUDGE_RULES = ("log_in", "onboarding_content", "first_lead", "first_deal", "reactivate",
               "next_tier")  # fmt: skip
TIER_GAP = {"next": "gold", "qualifies": "silver", "assigned": "silver",
            "missing": [{"measure": "won_deals_12m", "value": 1},
                        {"measure": "won_amount_12m", "value": 250000},
                        {"measure": "certified_reps", "value": 2}]}  # fmt: skip
JOURNEY = ("signed", "registered", "logged_in", "content_downloaded", "lead_registered",
           "deal_registered", "deal_won")  # fmt: skip
PARTNER_DIGESTS = {  # bot.domain.partner_digest.digest: on the way, and every step done
    "journey": {
        "partner": {"key": "art-i", "name": "株式会社アーティクル"},
        "journey": {"steps": [{"key": k, "done": i <= 4} for i, k in enumerate(JOURNEY)],
                    "reached": 5, "total": 7, "current": "lead_registered",
                    "next": "deal_registered"},
        "figures": {"leads": 4, "deals": 2, "registered_amount": 2_500_000, "won_deals": 1,
                    "won_amount": 1_250_000},
        "period": (AT, AT),
        "steps": {"items": [{"key": f"r{i}", "name": "伊藤 美咲", "rule": rule,
                             "mention": "UREP1" if i % 2 else None}
                            for i, rule in enumerate(NUDGE_RULES)], "more": 2, "total": 7},
        "assets": [*ASSETS, {"title": "導入事例集", "url": None}],
    },
    "done": {
        "partner": {"key": "art-i", "name": "株式会社アーティクル"},
        "journey": {"steps": [{"key": k, "done": True} for k in JOURNEY], "reached": 7,
                    "total": 7, "current": "deal_won", "next": None},
        "figures": {"leads": 0, "deals": 0, "registered_amount": 0, "won_deals": 0,
                    "won_amount": 0},
        "period": (AT, AT),
        "steps": {"items": [], "more": 0, "total": 0},
        "assets": [],
    },
}  # fmt: skip
BAD_CODES = ("bad_period", "partner_missing", "two_periods", "tips_switch", "future_period",
             "register_kind", "empty_store")  # fmt: skip


def money(value: Any) -> str:
    return numbers.money(value, "JPY", "ja")


def cases() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(case id, template, data): every kind and every branch a person may see."""
    for kind in ACTION_KINDS:
        data = {
            "kind": kind,
            "portal_url": "https://partners.example.com",
            "user": "UMGR1",
            "days": 7,
            "partner": "株式会社アーティクル",
            "tier": "gold",
        }
        yield f"action_result {kind}", "action_result", data
    for code in BAD_CODES:
        yield f"bad_argument {code}", "bad_argument", {"code": code, "word": "2026-13"}
    yield (
        "channel_nudges",
        "channel_nudges",
        {
            "partner": "株式会社アーティクル",
            "lines": [{"mention": "UREP1", "name": "伊藤 美咲", "rule": r} for r in NUDGE_RULES],
            "assets": ASSETS,
            "portal_url": "https://partners.example.com",
            "buttons": [ids.NUDGE_REGISTER_LEAD, ids.NUDGE_REGISTER_DEAL],
            "value": "art-i",
        },
    )
    yield "digest", "digest", DIGEST
    yield "digest health_drop", "digest", {**DIGEST, "sections": [HEALTH_DROP]}
    yield "dm_reply", "dm_reply", {}
    for rule in NUDGE_RULES:
        yield (
            f"nudge {rule}",
            "nudge",
            {
                "rule": {"id": rule},
                "assets": ASSETS,
                "portal_url": "https://partners.example.com",
                "button": ids.NUDGE_REGISTER_LEAD
                if rule == "first_lead"
                else ids.NUDGE_REGISTER_DEAL,
                "rep": REP,
                "stop_action": ids.NUDGE_STOP,
                "tier": TIER_GAP,
                "money": money,
            },
        )
    yield "oops", "oops", {"ref": "abc123"}
    for name, digest in PARTNER_DIGESTS.items():
        yield f"partner_digest {name}", "partner_digest", {"digest": digest, "tz": TZ,
                                                           "money": money}  # fmt: skip
    yield "shared_note", "shared_note", {"partner": "株式会社アーティクル"}
    yield "unavailable", "unavailable", {}
    yield "partner_welcome", "partner_welcome", {"partner": "株式会社アーティクル"}
    for view, lines in (("refused", []), ("result", CONNECT_LINES)):
        yield f"partner_connect {view}", "partner_connect", {
            "view": view, "partner": "株式会社アーティクル", "lines": lines,
        }  # fmt: skip
    for view in ("confirm", "card", "decided", "won", "reminder", "expired"):
        for status in ("approved", "rejected") if view == "decided" else ("pending",):
            reg = {**REG, "status": status}
            yield f"registration {view} {status}", "registration", {
                "view": view, "reg": reg, "ids": REG_IDS, "tz": TZ,
            }  # fmt: skip
    yield (
        "todo list",
        "todo",
        {
            "view": "list",
            "stuck_days": 14,
            "activation_days": 30,
            "money": money,
            "worklist": {
                "total": 1,
                "items": [
                    {
                        "partner_key": "p-art",
                        "partner_name": "株式会社アーティクル",
                        "reasons": REASONS,
                        "pipeline": 1_250_000,
                        "action": "nudge",
                    }
                ],
            },
        },
    )
    for view, extra in (
        ("not_manager", {}),
        ("not_in_book", {}),
        ("nudged", {"sent": 2, "already": 1, "held": 1}),
        ("nudged", {"sent": 0, "already": 0, "held": 0}),
        ("handed", {"cs": "UCS1"}),
        ("no_cs", {}),
        ("snoozed", {"days": 14}),
        (
            "handoff",
            {"manager": "UMGR1", "reasons": REASONS, "pipeline": 1_250_000, "key": "p-art"},
        ),
    ):
        data = {"view": view, "partner": "株式会社アーティクル", "money": money, **extra}
        yield f"todo {view} {extra.get('sent', '')}".strip(), "todo", data


CASES = list(cases())


class Recording(gettext.NullTranslations):
    """The Japanese catalog, noting every msgid a template looks up."""

    def __init__(self, inner: gettext.NullTranslations) -> None:
        super().__init__()
        self.inner = inner
        self.seen: set[tuple[str | None, str]] = set()
        self.env: Any = None  # the Japanese Environment that uses this catalog

    def gettext(self, message: str) -> str:
        self.seen.add((None, message))
        return self.inner.gettext(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        self.seen.add((None, msgid1))
        return self.inner.ngettext(msgid1, msgid2, n)

    def pgettext(self, context: str, message: str) -> str:
        self.seen.add((context, message))
        return self.inner.pgettext(context, message)

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:
        self.seen.add((context, msgid1))
        return self.inner.npgettext(context, msgid1, msgid2, n)


@pytest.fixture(scope="module")
def recording() -> Iterator[Recording]:
    rec = Recording(catalogs.translations("ja"))
    original = messages.translations
    messages.translations = lambda locale: rec if locale == "ja" else original(locale)  # type: ignore[assignment]
    try:
        env = messages.environment.__wrapped__("ja")  # uncached: the recording catalog
    finally:
        messages.translations = original
    rec.env = env
    yield rec


def _render(env, template: str, data: dict[str, Any]) -> dict[str, Any]:
    safe = {key: escape_data(value, messages._limit(key)) for key, value in data.items()}
    rendered = message(env.get_template(f"{template}.j2").render(**safe))
    return {"text": rendered.text, "blocks": rendered.blocks}


def _translated() -> set[tuple[str | None, str]]:
    done = set()
    for m in catalogs.read_catalog("ja"):
        if not m.id or m.fuzzy:
            continue
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if all(strings):
            done.add((m.context, m.id if isinstance(m.id, str) else str(m.id[0])))
    return done


@pytest.mark.parametrize(("case", "template", "data"), CASES, ids=[c[0] for c in CASES])
def test_every_kind_renders_valid_block_kit_in_both_languages(recording, case, template, data):
    en = _render(messages.environment("en"), template, data)
    ja = _render(recording.env, template, data)
    for payload in (en, ja):
        assert payload["blocks"], case
        assert not _blocks_problems(payload["blocks"], 50), (case, payload["blocks"])
    en_words, ja_words = words(en), words(ja)
    assert en_words != ja_words, case
    assert japanese_share(ja_words) > japanese_share(en_words), (case, ja_words)


def test_the_japanese_of_every_kind_is_complete(recording):
    for _case, template, data in CASES:
        _render(recording.env, template, data)
    missing = sorted(str(m) for m in recording.seen - _translated())
    assert recording.seen and not missing, missing


def test_every_message_kind_is_covered_in_both_languages():
    kinds = {p.stem for p in TEMPLATES.glob("*.j2") if not p.stem.startswith("_")}
    here = {template for _, template, _ in CASES}
    elsewhere = {  # rendered in en and ja by these tests
        "kpi", "partner", "me", "help", "refusal", "not_found", "bad_argument", "oops",
        "home",  # tests/slack/test_templates.py
        "content",  # tests/slack/test_japanese.py::test_content_in_both_languages
        "scorecard",  # tests/jobs/test_scorecards.py
        "todo",  # tests/slack/test_japanese.py (the list through `prm slack ask`)
    }  # fmt: skip
    assert kinds <= here | elsewhere, sorted(kinds - here - elsewhere)


def test_a_conflict_names_kind_and_status_in_the_readers_language():
    from tests.slack.payloads import words as _words

    data = {"view": "card", "reg": REG, "ids": REG_IDS, "tz": TZ}
    ja = _words(_render(messages.environment("ja"), "registration", data))
    en = _words(_render(messages.environment("en"), "registration", data))
    assert "(リード、承認済み)" in ja and "lead" not in ja and "approved" not in ja
    assert "(lead, approved)" in en
    assert "伊藤 美咲さんが案件を登録しました" in ja and "さんさん" not in ja
