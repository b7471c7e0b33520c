"""Coaching conditions for customer success, as data: which reps need coaching, which
partners are stuck at one step, which went dormant — for the partners a CS owner has.

The figures are the engine's (the `reps` and `retention` KPIs, funnel progress); owners and
names are store reads (bot.store.partners). What counts as a condition is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from bot.domain import lists
from bot.kpi import KpiParams, Scope, compute
from bot.kpi.funnel import partner_progress
from bot.store import partners


@dataclass(frozen=True)
class Condition:
    """One thing worth a CS owner's attention. `subject` names it across runs."""

    kind: str  # coaching | stuck | health_drop | dormant
    subject: str
    partner_key: str
    detail: dict


def conditions(
    conn: Connection, params: KpiParams, cs_slack_id: str, stuck_days: int
) -> list[Condition]:
    p = replace(params, scope=Scope(cs_slack_id=cs_slack_id))
    found: list[Condition] = []
    reps = compute("reps", conn, p)
    for r in reps["reps"]:
        if r["needs_coaching"]:
            found.append(
                Condition(
                    "coaching",
                    f"coaching:{r['key']}",
                    r["partner_key"],
                    {
                        "rep": r["key"],
                        "leads": r["leads"],
                        "deals": r["deals"],
                        "conversion": r["conversion"],
                    },
                )
            )
    steps = [s.key for s in p.journey]
    for progress in partner_progress(conn, p):
        if progress.reached_at is None or progress.reached < 0:
            continue
        if progress.reached >= len(steps) - 1:
            continue  # every step done
        stuck_for = p.as_of - progress.reached_at
        if stuck_for > timedelta(days=stuck_days):
            step = steps[progress.reached]
            found.append(
                Condition(
                    "stuck",
                    f"stuck:{progress.key}:{step}",
                    progress.key,
                    {"step": step, "next": steps[progress.reached + 1], "days": stuck_for.days},
                )
            )
    health = compute("health", conn, p)
    by_key = {h["key"]: h for h in health["partners"]}
    for key in health["dropped_7d"]:  # a drop of ≥ drop_alert points in 7 days, explained
        change = by_key[key]["change_7d"]
        keep = ("component", "points", "detail")
        drops = [{k: r[k] for k in keep} for r in change["reasons"] if r["points"] < 0][:3]
        found.append(
            Condition(
                "health_drop",
                f"health_drop:{key}",
                key,
                {
                    "score": by_key[key]["score"],
                    "points": change["points"],
                    "reasons": [
                        {k: r[k] for k in ("component", "points", "detail")} for r in drops
                    ],
                },
            )
        )
    for key in compute("retention", conn, p)["dormant"]:
        found.append(Condition("dormant", f"dormant:{key}", key, {}))
    return found


def owners(conn: Connection) -> list[str]:
    """Every CS owner with a partner, sorted."""
    return partners.cs_ids(conn)


def names(conn: Connection, partner_keys: set[str], rep_keys: set[str]) -> dict[str, str]:
    """Display names by key, partners and reps together; an unnamed rep goes by key."""
    out = partners.partner_names(conn, partner_keys)
    out.update({k: v or k for k, v in partners.rep_names(conn, rep_keys).items()})
    return out


# The digest: kinds in the order a CS owner reads them, most pressing kind first.
KINDS = ("coaching", "stuck", "health_drop", "dormant")


@dataclass(frozen=True)
class Item:
    """One condition in a CS owner's digest, with its episode (0 in a dry run)."""

    condition: Condition
    episode_id: int
    opened_at: datetime  # when its episode opened (now, for a new one)
    why: str  # "new" (opened today), "open" (still holds, not answered), "reminder"


def severity(item: Item) -> tuple:
    """Within a kind, most severe first: the longest stuck (470 days before 33), the rep
    converting worst (then the one with most leads wasted), the partner dormant longest
    in this digest; the subject breaks ties, so the order is stable run after run."""
    c = item.condition
    if c.kind == "stuck":
        return (-int(c.detail.get("days", 0)), c.subject)
    if c.kind == "health_drop":
        return (float(c.detail.get("points") or 0.0), c.subject)  # the biggest drop first
    if c.kind == "coaching":
        return (float(c.detail.get("conversion") or 0.0), -int(c.detail.get("leads", 0)), c.subject)
    return (item.opened_at, c.subject)


def digest_sections(items: list[Item], per_run: int) -> list[dict[str, Any]]:
    """The digest's sections: one per kind that has items, in KINDS order, each ranked by
    severity; `shown` (with buttons) and `more` (counted: "and N more").

    Each kind shows at most LIST_LIMIT (bot.domain.lists), and all kinds together at
    most `per_run` (PRM_ALERTS_PER_RUN), handed out one per kind in turn so that a long
    coaching list never hides every stuck or dormant partner."""
    by_kind: dict[str, list[Item]] = {}
    for item in items:
        by_kind.setdefault(item.condition.kind, []).append(item)
    order = [k for k in KINDS if k in by_kind] + sorted(set(by_kind) - set(KINDS))
    ranked = {k: lists.shown(sorted(by_kind[k], key=severity)) for k in order}
    take = dict.fromkeys(order, 0)
    budget = max(0, per_run)
    while budget:
        moved = False
        for k in order:
            if budget and take[k] < len(ranked[k]):
                take[k] += 1
                budget -= 1
                moved = True
        if not moved:
            break
    return [
        {
            "kind": k,
            "shown": ranked[k][: take[k]],
            "more": len(by_kind[k]) - take[k],
            "total": len(by_kind[k]),
        }
        for k in order
    ]
