"""KPI 1, `funnel`: how far each partner has come along the journey, and where it stalls.

SQL returns, per cohort partner, its signing time, its first user registration and the
first time of each journey event type (from the trigger-kept `partner_first_event`
rollup); Python turns those per-partner times into reached/stuck counts. No event is
ever loaded.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection, func, select

from bot.kpi.params import JourneyStep, KpiParams
from bot.kpi.sql import (
    P,
    U,
    cohort_where,
    effective,
    first_day_not_before,
    first_events,
    narrowed,
    rate,
)


@dataclass(frozen=True)
class PartnerProgress:
    """Where one partner stands: the deepest step reached (0-based) and since when."""

    key: str
    reached: int  # index of the deepest step reached; -1 if none
    reached_at: datetime | None


def partner_progress(conn: Connection, params: KpiParams) -> list[PartnerProgress]:
    """Per cohort partner, the deepest journey step reached before as_of."""
    per_partner = select(
        U.c.partner_id,
        func.min(U.c.registered_at).filter(U.c.registered_at < params.as_of).label("at"),
        func.min(U.c.registered_on)
        .filter(U.c.registered_on < first_day_not_before(params.as_of, params.tz))
        .label("on"),
    ).group_by(U.c.partner_id)
    if narrowed(params):  # a book or a partner: group only its reps (cost follows scope)
        per_partner = per_partner.where(
            U.c.partner_id.in_(select(P.c.id).where(cohort_where(params)))
        )
    first_registered = per_partner.subquery("first_registered")
    reg = first_registered.c
    partners = conn.execute(
        select(P.c.key, P.c.signed_at, P.c.signed_on, reg.at, reg.on)
        .select_from(P.outerjoin(first_registered, reg.partner_id == P.c.id))
        .where(cohort_where(params))
    ).all()
    event_types = [s.event_type for s in params.journey if s.event_type]
    firsts = first_events(conn, params, event_types)

    progress = []
    tz = params.tz
    for key, signed_at, signed_on, reg_at, reg_on in sorted(partners, key=lambda r: r.key):
        signed = effective(signed_at, signed_on, tz)
        registrations = [t for t in (reg_at, effective(None, reg_on, tz)) if t is not None]
        registered = min(registrations) if registrations else None
        done = firsts.get(key, {})
        depth, latest = -1, None
        for step in params.journey:
            if step.source == "signed":
                when = signed
            elif step.source == "registered":
                when = registered
            else:
                when = done.get(step.source)
            if when is None:
                break
            depth += 1
            latest = when if latest is None or when > latest else latest
        progress.append(PartnerProgress(key, depth, latest))
    return progress


def funnel(conn: Connection, params: KpiParams) -> dict[str, Any]:
    progress = partner_progress(conn, params)
    n_steps = len(params.journey)
    reached = [sum(1 for p in progress if p.reached >= k) for k in range(n_steps)]
    steps: list[dict[str, Any]] = []
    for k, step in enumerate(params.journey):
        stuck = [p for p in progress if p.reached == k and k < n_steps - 1]
        days = [
            (params.as_of - p.reached_at).total_seconds() / 86400 for p in stuck if p.reached_at
        ]
        steps.append(
            {
                "key": step.key,
                "reached": reached[k],
                "step_rate": rate(reached[k], reached[k - 1]) if k > 0 else None,
                "cumulative_rate": rate(reached[k], reached[0]),
                "stuck": len(stuck),
                "stuck_median_days": statistics.median(days) if days else None,
                "stuck_max_days": max(days) if days else None,
            }
        )
    return {"steps": steps, "bottleneck": _bottleneck(reached, params.journey)}


def _bottleneck(reached: list[int], journey: tuple[JourneyStep, ...]) -> str | None:
    """The step (k ≥ 2) with the lowest non-null step rate; the earliest on a tie.

    Compared as exact fractions so that 1/3 and 2/6 tie.
    """
    best: tuple[Fraction, int] | None = None
    for k in range(1, len(journey)):
        if reached[k - 1] == 0:
            continue
        value = Fraction(reached[k], reached[k - 1])
        if best is None or value < best[0]:
            best = (value, k)
    return journey[best[1]].key if best else None
