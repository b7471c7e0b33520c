"""KPI `tiers` (kpi-spec.md §7): the tier each partner qualifies for, what it still needs
for the next one, and where that differs from the tier it was assigned.

Three statements read every measure of every cohort partner: the 12-month deal, lead
and won counts (one grouped, index-only scan by type and time), the won amounts (the won
deals only), and per partner its certified reps (distinct users with a course's
`training.completed` inside that certification's validity) and its active months (three
index probes, the retention windows W_0..W_2). The tier logic is plain Python over those
six numbers per partner.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from bot.core import events
from bot.core.timeutil import months_before
from bot.kpi.activity import totals_by_partner, window_flags
from bot.kpi.params import KpiParams
from bot.kpi.pipeline import money
from bot.kpi.program import MEASURES, Program, Tier
from bot.kpi.sql import (
    E,
    P,
    cohort_where,
    with_stored_activity,
)


def measures(conn: Connection, params: KpiParams) -> dict[str, dict[str, Any]]:
    """{partner key: {"assigned": stored tier, "measures": {measure: value}}}, every
    cohort partner, zeros included."""
    params = with_stored_activity(conn, params)
    tz, as_of, program = params.tz, params.as_of, params.program
    year_ago = months_before(as_of, 12, tz)
    # Counts and won amounts from the monthly rollup (its whole months) and the log (the
    # partial months at the window's ends).
    totals = totals_by_partner(
        conn, params, (events.WON, events.DEAL, events.LEAD), year_ago, as_of
    )
    counts = {key: n for key, (n, _) in totals.items()}
    won_amounts = {pid: amount for (pid, t), (_, amount) in totals.items() if t == events.WON}
    certified = _certified(params, program)
    bounds = [months_before(as_of, i, tz) for i in range(4)]
    active = window_flags(conn, params, [(bounds[i + 1], bounds[i]) for i in range(3)])
    query = select(P.c.id, P.c.key, P.c.tier)
    if certified is not None:
        query = query.add_columns(certified.c.reps.label("certified")).outerjoin(
            certified, certified.c.partner_id == P.c.id
        )
    out: dict[str, dict[str, Any]] = {}
    for r in conn.execute(query.where(cohort_where(params))):
        values = {
            "won_deals_12m": counts.get((r.id, events.WON), 0),
            "won_amount_12m": money(won_amounts.get(r.id)),
            "deals_registered_12m": counts.get((r.id, events.DEAL), 0),
            "leads_registered_12m": counts.get((r.id, events.LEAD), 0),
            "certified_reps": int(getattr(r, "certified", None) or 0),
            "active_months_3m": sum(active.get(r.id, ())),
        }
        out[r.key] = {"assigned": r.tier or None, "measures": values}
    return out


def _certified(params: KpiParams, program: Program) -> Any:
    """Per partner: users with a certification valid at as_of (None: none declared)."""
    if not program.certifications:
        return None
    valid = or_(
        *(
            and_(
                E.c.object_key == c.course,
                E.c.occurred_at >= months_before(params.as_of, c.valid_months, params.tz),
            )
            for c in program.certifications
        )
    )
    return (
        select(E.c.partner_id, func.count(func.distinct(E.c.user_id)).label("reps"))
        .join(P, P.c.id == E.c.partner_id)
        .where(
            cohort_where(params),
            E.c.type == events.TRAINING,
            E.c.occurred_at < params.as_of,
            E.c.user_id.is_not(None),
            valid,
        )
        .group_by(E.c.partner_id)
        .subquery()
    )


def meets(tier: Tier, values: dict[str, Any]) -> bool:
    return all(values[m] >= need for m, need in tier.requires)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else money(value)


def missing(tier: Tier | None, values: dict[str, Any]) -> dict[str, int | float]:
    """Each unmet requirement of `tier`: how much is still needed (value − measure)."""
    if tier is None:
        return {}
    return {m: _number(need - values[m]) for m, need in tier.requires if values[m] < need}


def standing(program: Program, values: dict[str, Any]) -> tuple[str | None, str | None]:
    """(qualifies, next): the highest tier met together with every tier below it, and the
    one right above it (None at the top; the lowest tier when not even that is met)."""
    qualifies: str | None = None
    for i, tier in enumerate(program.tiers):
        if not meets(tier, values):
            return qualifies, tier.key
        qualifies = tier.key
        if i == len(program.tiers) - 1:
            return qualifies, None
    return qualifies, None


def partner_tier(program: Program, key: str, entry: dict[str, Any]) -> dict[str, Any]:
    values = entry["measures"]
    qualifies, nxt = standing(program, values)
    return {
        "key": key,
        "assigned": entry["assigned"],
        "qualifies": qualifies,
        "next": nxt,
        "missing": missing(program.tier(nxt), values),
        "measures": {m: values[m] for m in MEASURES},
    }


def tiers(conn: Connection, params: KpiParams) -> dict[str, Any]:
    program = params.program
    # Sorted here, by code point: a database collation may order keys otherwise.
    rows = [partner_tier(program, k, e) for k, e in sorted(measures(conn, params).items())]
    order = {key: i for i, key in enumerate(program.tier_keys())}
    up: list[str] = []
    down: list[str] = []
    for p in rows:
        assigned = order.get(p["assigned"] or "")
        if assigned is None:
            continue  # an assigned tier the program does not know: neither up nor down
        qualifies = order.get(p["qualifies"] or "", -1)
        if qualifies > assigned:
            up.append(p["key"])
        elif qualifies < assigned:
            down.append(p["key"])
    levels = [
        {
            "key": key,
            "qualifying": sum(1 for p in rows if p["qualifies"] == key),
            "assigned": sum(1 for p in rows if p["assigned"] == key),
        }
        for key in program.tier_keys()
    ]
    return {
        "levels": levels,
        "partners": rows,
        "changes": {"up": sorted(up), "down": sorted(down)},
    }
