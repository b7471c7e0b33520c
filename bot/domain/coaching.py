"""Coaching conditions for customer success, as data: which reps need coaching, which
partners are stuck at one step, which went dormant — for the partners a CS owner has."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import Connection, select

from bot.kpi import KpiParams, Scope, compute
from bot.kpi.funnel import partner_progress
from bot.kpi.sql import P, U


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
    return sorted(
        cs
        for (cs,) in conn.execute(
            select(P.c.cs_slack_id).where(P.c.cs_slack_id.is_not(None)).distinct()
        )
    )


def names(conn: Connection, partner_keys: set[str], rep_keys: set[str]) -> dict[str, str]:
    out = dict(conn.execute(select(P.c.key, P.c.name).where(P.c.key.in_(partner_keys))).all())
    out.update(
        {k: v or k for k, v in conn.execute(select(U.c.key, U.c.name).where(U.c.key.in_(rep_keys)))}
    )
    return out
