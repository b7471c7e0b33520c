"""The next-action rules (data: `rules.yml`) and choosing the one action for a rep.

Pure: facts in, action out, so the rules can be tested without a database. The facts are
gathered by `bot.domain.nudges.facts` (in SQL, through the store and the KPI engine).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.core.events import EVENT_TYPES

DEFAULT_RULES = Path(__file__).with_name("rules.yml")
CONDITIONS = ("never", "ever", "no_onboarding_download", "quiet_days", "tier_close")
BUTTONS = ("register_lead", "register_deal")
KEYS = ("id", "when", "target", "assets", "button")


class RuleError(ValueError):
    """The rules file is not usable; the message names the rule and the problem."""


@dataclass(frozen=True)
class Rule:
    id: str
    when: dict[str, Any]
    target: str
    assets: int = 0
    button: str | None = None


@dataclass(frozen=True)
class RepFacts:
    """What a rep has done, as of now. `first`/`last`: per event type, the rep's own."""

    user_id: int
    key: str
    first: dict[str, datetime] = field(default_factory=dict)
    last: dict[str, datetime] = field(default_factory=dict)
    last_active: datetime | None = None
    onboarding_downloads: int = 0
    # The rep's partner is one requirement away from its next tier (bot.kpi.tiers):
    # {"next": tier key, "missing": [{"measure": …, "value": …}]}; None otherwise.
    tier_gap: dict[str, Any] | None = None


def load_rules(path: str | Path | None = None) -> tuple[Rule, ...]:
    source = Path(path) if path else DEFAULT_RULES
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RuleError(f"cannot read rules from {source}: {exc}") from exc
    items = (data or {}).get("rules") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise RuleError(f"{source}: expected a non-empty `rules:` list")
    try:
        rules = tuple(_rule(item, i) for i, item in enumerate(items, 1))
    except RuleError as exc:
        raise RuleError(f"{source}: {exc}") from None
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"{source}: rule ids must be unique; {rule.id!r} appears twice")
        seen.add(rule.id)
    return rules


def _rule(item: Any, n: int) -> Rule:
    if not isinstance(item, dict) or not item.get("id"):
        raise RuleError(f"rule {n}: needs an `id`")
    rid = str(item["id"])
    unknown = sorted(str(k) for k in item if k not in KEYS)
    if unknown:
        raise RuleError(f"rule {rid}: unknown key {unknown[0]!r} ({', '.join(KEYS)})")
    when = item.get("when") or {}
    if not isinstance(when, dict) or not when:
        raise RuleError(f"rule {rid}: needs a `when` mapping")
    for name, value in when.items():
        if name not in CONDITIONS:
            raise RuleError(f"rule {rid}: unknown condition {name!r} ({', '.join(CONDITIONS)})")
        if name in ("never", "ever") and value not in EVENT_TYPES:
            raise RuleError(f"rule {rid}: {name}: unknown event type {value!r}")
        if name in ("no_onboarding_download", "tier_close") and not isinstance(value, bool):
            raise RuleError(f"rule {rid}: {name} must be true or false")
        if name == "quiet_days" and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise RuleError(f"rule {rid}: quiet_days must be a positive whole number")
    target = str(item.get("target", ""))
    if target != "any" and target not in EVENT_TYPES:
        raise RuleError(f"rule {rid}: target must be an event type or `any`")
    assets = item.get("assets", 0)
    if isinstance(assets, bool) or not isinstance(assets, int) or assets < 0:
        raise RuleError(f"rule {rid}: assets must be a whole number, 0 or more")
    button = item.get("button")
    if button is not None and button not in BUTTONS:
        raise RuleError(f"rule {rid}: button must be one of {', '.join(BUTTONS)}")
    return Rule(rid, dict(when), target, assets, button)


def holds(rule: Rule, facts: RepFacts, now: datetime) -> bool:
    for name, value in rule.when.items():
        if name == "never" and value in facts.first:
            return False
        if name == "ever" and value not in facts.first:
            return False
        if name == "no_onboarding_download" and bool(value) and facts.onboarding_downloads:
            return False
        if name == "tier_close" and bool(value) != (facts.tier_gap is not None):
            return False
        # Quiet: no activity in [now − N days, now), the window the dormant KPI uses, so
        # activity exactly N days ago still counts as recent.
        if name == "quiet_days" and (
            facts.last_active is None
            or now.astimezone(UTC) - facts.last_active.astimezone(UTC) <= timedelta(days=value)
        ):
            return False
    return True


def choose(rules: tuple[Rule, ...], facts: RepFacts, now: datetime) -> Rule | None:
    """The rep's one next action: the first rule that holds, or None (nothing to nudge)."""
    return next((rule for rule in rules if holds(rule, facts, now)), None)
