"""A partner's weekly digest, as plain data: what the partner should do next, where it
stands on its journey, its own week in figures, each rep's next step and the onboarding
content nobody there has opened yet. No Slack and no wording (templates/partner_digest.j2).

It is posted in the partner's own shared channel, so it holds ONLY that partner's data:
every figure is the KPI engine's with `Scope(partner_key=…)` (the same as
`prm kpi --partner KEY` over the same 7 days), the reps are that partner's, and nothing
vendor-internal (coaching flags, playbooks, the worklist, other partners, deal conflicts)
is read at all.

Each rep's next step is the next-action engine's own decision (`plan.decide`, the rules
and facts `next-actions` uses), read without writing anything. Two choices:

- the weekly cap is not applied (a rep nudged yesterday still has that next step this
  week; the cap limits how often a rep is *messaged* about it, and this is the partner's
  summary), while "Stop these tips" and "stop after N" are: such a rep is not listed;
- reps in the nudge holdout are never listed: the digest must not nudge the
  experiment's control arm, or `nudge_lift` would compare nudged reps with nudged reps.

The list is ranked by how close the step is to revenue (the rules' order reversed:
a first deal before a first lead before reactivating, onboarding content and logging
in), then by rep key; at most LIMIT are shown, the rest counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.domain.nudges import facts as facts_mod
from bot.domain.nudges.plan import decide
from bot.domain.nudges.rules import Rule
from bot.domain.scorecard import one_week
from bot.domain.tier_review import tier_progress
from bot.kpi import KpiParams, Scope, compute
from bot.kpi.funnel import partner_progress
from bot.kpi.partner_summary import DigestPartner, digest_partners, opened_assets

__all__ = ["LIMIT", "DigestPartner", "digest", "digest_partners", "ranked"]

LIMIT = 5  # reps' next steps shown; the rest are counted ("and 3 more")
ASSETS = 3  # onboarding assets shown, most downloaded across the program first


def ranked(items: list[dict[str, Any]], limit: int = LIMIT) -> dict[str, Any]:
    """{"items": the first `limit`, "more": how many are left out, "total": all}: the
    shape of bot.domain.lists.listed, with a shorter cut for a channel message."""
    return {"items": items[:limit], "more": max(0, len(items) - limit), "total": len(items)}


def digest(
    conn: Connection,
    params: KpiParams,
    partner: DigestPartner,
    *,
    rules: tuple[Rule, ...],
    history: dict[int, list[facts_mod.PastNudge]],
    guides: list[dict[str, str | None]],
    now: datetime,
    stop_after: int,
    in_holdout: Callable[[str], bool],
) -> dict[str, Any]:
    """The digest of one partner as of params.as_of. `history` (every rep's past nudges)
    and `guides` (the onboarding assets, most downloaded first) are read once per run."""
    p = replace(params, scope=Scope(partner_key=partner.key))
    journey = _journey(conn, p)
    week = one_week(p)
    deals = compute("deals", conn, week)
    pipeline = compute("pipeline", conn, week)
    reps_kpi = compute("reps", conn, week)
    figures = {
        "leads": sum(r["leads"] for r in reps_kpi["reps"]),
        "deals": deals["registered"],
        "registered_amount": pipeline["registered_amount"],
        "won_deals": pipeline["won_deals"],
        "won_amount": pipeline["won_amount"],
    }
    opened = opened_assets(conn, p)
    unopened = [g for g in guides if g["key"] not in opened][:ASSETS]
    return {
        "partner": {"key": partner.key, "name": partner.name},
        "journey": journey,
        "figures": figures,
        "period": (week.period_from, week.period_to),
        "steps": ranked(next_steps(conn, p, rules, history, now, stop_after, in_holdout)),
        "tier": tier_progress(compute("tiers", conn, p)),
        "assets": unopened,
    }


def next_steps(
    conn: Connection,
    p: KpiParams,
    rules: tuple[Rule, ...],
    history: dict[int, list[facts_mod.PastNudge]],
    now: datetime,
    stop_after: int,
    in_holdout: Callable[[str], bool],
) -> list[dict[str, Any]]:
    """Each rep of the scope's partner with a next action, ranked (module docstring)."""
    people = facts_mod.reps(conn, p)
    facts = facts_mod.facts(
        conn, now, {r.user_id for r in people}, facts_mod.tier_gaps(conn, p, people)
    )
    order = {rule.id: i for i, rule in enumerate(rules)}
    ranked_steps: list[tuple[tuple[int, str], dict[str, Any]]] = []
    for rep in people:
        if in_holdout(rep.key):
            continue  # the experiment's control arm hears nothing from the bot
        # cap_days=0: the weekly cap limits nudge messages, not this weekly summary.
        d = decide(rep, facts[rep.user_id], history.get(rep.user_id, []), rules, now, 0,
                   stop_after)  # fmt: skip
        if d.rule is None:
            continue
        step = {"key": rep.key, "name": rep.name, "mention": rep.slack_user_id, "rule": d.rule.id}
        ranked_steps.append(((-order.get(d.rule.id, 0), rep.key), step))
    ranked_steps.sort(key=lambda pair: pair[0])
    return [step for _, step in ranked_steps]


def _journey(conn: Connection, p: KpiParams) -> dict[str, Any]:
    """Steps reached of the total, the current and the next step (the partner card's
    vocabulary: the journey step keys)."""
    keys = [s.key for s in p.journey]
    progress = partner_progress(conn, p)
    reached = progress[0].reached if progress else -1
    return {
        "steps": [{"key": k, "done": i <= reached} for i, k in enumerate(keys)],
        "reached": reached + 1,
        "total": len(keys),
        "current": keys[reached] if reached >= 0 else None,
        "next": keys[reached + 1] if reached + 1 < len(keys) else None,
    }
