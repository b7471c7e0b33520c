"""Coaching conditions for customer success, as data: which reps need coaching, which
partners are stuck at one step, which went dormant — for the partners a CS owner has.

The figures are the engine's (the `reps` and `retention` KPIs, funnel progress); owners and
names are store reads (bot.store.partners). What counts as a condition is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import Connection

from bot.kpi import KpiParams, Scope, compute
from bot.kpi.funnel import partner_progress
from bot.store import partners


@dataclass(frozen=True)
class Condition:
    """One thing worth a CS owner's attention. `subject` names it across runs."""

    kind: str  # coaching | stuck | dormant
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
