"""The next-action rules: each default rule fires for the right facts, first match wins, and
a custom rules file is loaded or refused with a message naming the file, rule and problem.

Pure: `RepFacts` in, a rule out. No database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.nudges.rules import (
    DEFAULT_RULES,
    RepFacts,
    Rule,
    RuleError,
    choose,
    holds,
    load_rules,
)

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
RECENTLY = NOW - timedelta(days=3)
RULES = load_rules()
BY_ID = {r.id: r for r in RULES}


def rep(
    *types: str, at: datetime = RECENTLY, downloads: int | None = None, user_id: int = 1
) -> RepFacts:
    """A rep who did each of `types` (once, at `at`); an onboarding download counts when
    `content.downloaded` is among them, unless `downloads` says otherwise."""
    done = dict.fromkeys(types, at)
    if downloads is None:
        downloads = 1 if "content.downloaded" in types else 0
    return RepFacts(
        user_id=user_id,
        key=f"rep-{user_id}",
        first=dict(done),
        last=dict(done),
        last_active=at if done else None,
        onboarding_downloads=downloads,
    )


EVERYTHING = ("user.login", "content.downloaded", "lead.registered", "deal.registered")


def chosen(facts: RepFacts, now: datetime = NOW, rules: tuple[Rule, ...] = RULES) -> str | None:
    rule = choose(rules, facts, now)
    return rule.id if rule else None


# --- the default rules ------------------------------------------------------------------


def test_the_default_rules_in_order():
    assert [r.id for r in RULES] == [
        "log_in",
        "onboarding_content",
        "first_lead",
        "first_deal",
        "reactivate",
        "next_tier",
    ]
    assert [r.target for r in RULES] == [
        "user.login",
        "content.downloaded",
        "lead.registered",
        "deal.registered",
        "any",
        "any",
    ]
    assert BY_ID["log_in"].assets == 1 and BY_ID["onboarding_content"].assets == 3
    assert BY_ID["first_lead"].button == "register_lead"
    assert BY_ID["first_deal"].button == "register_deal"
    assert BY_ID["reactivate"].button is None and BY_ID["reactivate"].assets == 0
    assert load_rules(DEFAULT_RULES) == RULES == load_rules("")  # "" = built in, as settings


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param(rep(), "log_in", id="nothing-at-all"),
        pytest.param(rep("user.login"), "onboarding_content", id="logged-in-only"),
        pytest.param(
            rep("user.login", "content.downloaded", downloads=0),
            "onboarding_content",
            id="downloads-but-none-onboarding",
        ),
        pytest.param(rep("user.login", "content.downloaded"), "first_lead", id="no-lead"),
        pytest.param(
            rep("user.login", "content.downloaded", "training.completed"),
            "first_lead",
            id="trained-no-lead",
        ),
        pytest.param(
            rep("user.login", "content.downloaded", "lead.registered"), "first_deal", id="no-deal"
        ),
        pytest.param(
            rep(*EVERYTHING, at=NOW - timedelta(days=45)), "reactivate", id="all-done-but-quiet"
        ),
        pytest.param(rep(*EVERYTHING), None, id="all-done-and-active"),
        pytest.param(
            rep(*EVERYTHING, "deal.won", at=NOW - timedelta(seconds=1)), None, id="just-won"
        ),
    ],
)
def test_each_default_rule_fires_for_its_facts(facts, expected):
    assert chosen(facts) == expected


def test_first_match_wins():
    # Never logged in but has leads (an import gap, say): log in comes first.
    assert chosen(rep("lead.registered")) == "log_in"
    # Logged in, leads and a deal, no onboarding download, and quiet for months: the
    # onboarding rule comes before both first_deal's absence and reactivate.
    quiet_no_guide = rep("user.login", "lead.registered", at=NOW - timedelta(days=90))
    assert [r.id for r in RULES if holds(r, quiet_no_guide, NOW)] == [
        "onboarding_content",
        "first_deal",
        "reactivate",
    ]
    assert chosen(quiet_no_guide) == "onboarding_content"
    # The same rules in reverse order pick the other end.
    assert chosen(quiet_no_guide, rules=RULES[::-1]) == "reactivate"
    assert chosen(rep(), rules=RULES[::-1]) == "first_lead"  # reactivate needs past activity


def test_a_rep_with_a_deal_but_no_lead_is_not_asked_for_a_deal():
    # first_deal needs `ever: lead.registered`; first_lead catches them first anyway.
    facts = rep("user.login", "content.downloaded", "deal.registered")
    assert chosen(facts) == "first_lead"
    assert not holds(BY_ID["first_deal"], facts, NOW)


def test_quiet_days_boundary_is_exactly_thirty_days():
    # Quiet means no activity in [now − 30 days, now), the dormant KPI's window: activity
    # exactly 30 days ago is still recent; a microsecond earlier and the rep has gone quiet.
    exactly = rep(*EVERYTHING, at=NOW - timedelta(days=30))
    just_over = rep(*EVERYTHING, at=NOW - timedelta(days=30, microseconds=1))
    just_under = rep(*EVERYTHING, at=NOW - timedelta(days=29, hours=23, minutes=59))
    assert chosen(exactly) is None
    assert chosen(just_over) == "reactivate"
    assert chosen(just_under) is None


def test_quiet_days_counts_elapsed_time_across_a_dst_change():
    # Both times in New York: 12:00 EDT on Oct 15 to 11:30 EST on Nov 14 is 29 days 23½
    # hours on the wall clock but 30 days ½ hour elapsed. Elapsed time decides.
    ny = ZoneInfo("America/New_York")
    facts = rep(*EVERYTHING, at=datetime(2026, 10, 15, 12, 0, tzinfo=ny))
    assert chosen(facts, now=datetime(2026, 11, 14, 11, 30, tzinfo=ny)) == "reactivate"
    assert chosen(facts, now=datetime(2026, 11, 14, 10, 59, tzinfo=ny)) is None


def test_quiet_days_uses_the_latest_activity_of_any_type():
    old = NOW - timedelta(days=60)
    facts = RepFacts(
        user_id=1,
        key="r",
        first=dict.fromkeys(EVERYTHING, old),
        last={**dict.fromkeys(EVERYTHING, old), "user.login": NOW - timedelta(days=2)},
        last_active=NOW - timedelta(days=2),
        onboarding_downloads=2,
    )
    assert chosen(facts) is None


def test_quiet_days_needs_past_activity():
    never_active = rep()
    assert not holds(BY_ID["reactivate"], never_active, NOW)


def test_no_rule_means_no_action():
    assert choose((), rep(), NOW) is None


# --- custom rules files -----------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "rules.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_custom_rules_file(tmp_path):
    path = write(
        tmp_path,
        """
rules:
  - id: come_back
    when: {quiet_days: 14}
    target: any
  - id: train
    when: {ever: user.login, never: training.completed}
    target: training.completed
    assets: 2
  - id: guide_first
    when: {no_onboarding_download: true, never: lead.registered}
    target: content.downloaded
  - id: lead
    when: {no_onboarding_download: false, never: lead.registered}
    target: lead.registered
    button: register_lead
""",
    )
    rules = load_rules(path)
    assert rules == load_rules(str(path))
    assert rules[1] == Rule(
        "train", {"ever": "user.login", "never": "training.completed"}, "training.completed", 2
    )
    assert rules[3].button == "register_lead" and rules[0].assets == 0
    # 20 days quiet, trained: the custom 14-day rule fires where the default waits for 30.
    quiet = rep("user.login", "training.completed", at=NOW - timedelta(days=20))
    assert chosen(quiet, rules=rules) == "come_back" and chosen(quiet) == "onboarding_content"
    assert chosen(rep("user.login"), rules=rules) == "train"
    assert chosen(rep(), rules=rules) == "guide_first"  # `ever` needs the event; never logged in
    # `no_onboarding_download: false` is no condition at all.
    assert chosen(rep("content.downloaded", "training.completed"), rules=rules) == "lead"


BAD_RULES = [
    pytest.param(
        "rules:\n  - {id: a, when: {nevr: user.login}, target: user.login}\n",
        "rule a: unknown condition 'nevr' (never, ever, no_onboarding_download, quiet_days, "
        "tier_close)",
        id="unknown-condition",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {never: user.logon}, target: user.login}\n",
        "rule a: never: unknown event type 'user.logon'",
        id="unknown-event-type-never",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {ever: [lead.registered]}, target: user.login}\n",
        "rule a: ever: unknown event type ['lead.registered']",
        id="unknown-event-type-ever",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {never: user.login}, target: lead}\n",
        "rule a: target must be an event type or `any`",
        id="bad-target",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {never: user.login}}\n",
        "rule a: target must be an event type or `any`",
        id="no-target",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {never: user.login}, target: any, button: register_partner}\n",
        "rule a: button must be one of register_lead, register_deal",
        id="bad-button",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {never: user.login}, target: any}\n"
        "  - {id: b, when: {never: lead.registered}, target: any}\n"
        "  - {id: a, when: {quiet_days: 3}, target: any}\n",
        "rule ids must be unique; 'a' appears twice",
        id="duplicate-ids",
    ),
    pytest.param("rules: []\n", "expected a non-empty `rules:` list", id="empty-list"),
    pytest.param("rules:\n", "expected a non-empty `rules:` list", id="null-list"),
    pytest.param("", "expected a non-empty `rules:` list", id="empty-file"),
    pytest.param("- id: a\n", "expected a non-empty `rules:` list", id="no-rules-key"),
    pytest.param("rules: {id: a}\n", "expected a non-empty `rules:` list", id="rules-not-a-list"),
    pytest.param(
        "rules:\n  - {when: {never: user.login}, target: any}\n",
        "rule 1: needs an `id`",
        id="no-id",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {never: user.login}, target: any}\n  - just a string\n",
        "rule 2: needs an `id`",
        id="rule-not-a-mapping",
    ),
    pytest.param(
        "rules:\n  - {id: a, target: any}\n", "rule a: needs a `when` mapping", id="no-when"
    ),
    pytest.param(
        "rules:\n  - {id: a, when: [never], target: any}\n",
        "rule a: needs a `when` mapping",
        id="when-not-a-mapping",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {quiet_days: 0}, target: any}\n",
        "rule a: quiet_days must be a positive whole number",
        id="quiet-days-zero",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {quiet_days: 2.5}, target: any}\n",
        "rule a: quiet_days must be a positive whole number",
        id="quiet-days-fraction",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {quiet_days: true}, target: any}\n",
        "rule a: quiet_days must be a positive whole number",
        id="quiet-days-bool",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {no_onboarding_download: 'false'}, target: any}\n",
        "rule a: no_onboarding_download must be true or false",
        id="onboarding-flag-a-string",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {never: user.login}, target: any, assets: three}\n",
        "rule a: assets must be a whole number, 0 or more",
        id="assets-not-a-number",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {never: user.login}, target: any, assets: -1}\n",
        "rule a: assets must be a whole number, 0 or more",
        id="assets-negative",
    ),
    pytest.param(
        "rules:\n  - {id: a, when: {never: user.login}, target: any, template: welcome}\n",
        "rule a: unknown key 'template' (id, when, target, assets, button)",
        id="unknown-key",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_RULES)
def test_a_bad_rules_file_is_refused_with_a_clear_message(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(RuleError) as caught:
        load_rules(path)
    assert str(caught.value) == f"{path}: {message}"


def test_rule_errors_are_value_errors():
    assert issubclass(RuleError, ValueError)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda tmp: tmp / "missing.yml", "No such file", id="missing"),
        pytest.param(lambda tmp: tmp, "Is a directory", id="a-directory"),
        pytest.param(
            lambda tmp: write(tmp, "rules:\n  - {id: a, when: {never: user.login}\n"),
            "while parsing",
            id="invalid-yaml",
        ),
        pytest.param(
            lambda tmp: (tmp / "latin1.yml", (tmp / "latin1.yml").write_bytes(b"# caf\xe9\n"))[0],
            "can't decode byte 0xe9",
            id="not-utf8",
        ),
    ],
)
def test_an_unreadable_rules_file(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(RuleError, match=r"^cannot read rules from ") as caught:
        load_rules(path)
    assert str(path) in str(caught.value) and reason in str(caught.value)
