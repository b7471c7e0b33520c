"""KPI 5, `retention`: do partners keep using the program 3, 6 and 12 months on?

For each eligible partner SQL computes its *streak*: how many consecutive monthly windows,
counting back from as_of, hold an active event. A CASE chain stops probing at the first
empty window, so a partner costs at most 12 index probes. Retained for N ⇔ streak ≥ N.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, literal, not_, select

from bot.core.timeutil import days_before, months_before
from bot.kpi.params import DORMANT_DAYS, RETENTION_MONTHS, KpiParams
from bot.kpi.sql import (
    P,
    at_or_before,
    cohort_where,
    effective,
    partner_active_between,
    rate,
    with_stored_activity,
)


def retention(conn: Connection, params: KpiParams) -> dict[str, Any]:
    params = with_stored_activity(conn, params)
    longest = max(RETENTION_MONTHS)
    bounds = [months_before(params.as_of, i, params.tz) for i in range(longest + 1)]
    # W_i = [bounds[i+1], bounds[i]); the streak is the first i whose window is empty.
    streak = case(
        *[
            (not_(partner_active_between(params, bounds[i + 1], bounds[i])), literal(i))
            for i in range(longest)
        ],
        else_=literal(longest),
    )
    shortest_eligible = bounds[min(RETENTION_MONTHS)]
    dormant_since = days_before(params.as_of, DORMANT_DAYS, params.tz)
    rows = conn.execute(
        select(
            P.c.key,
            P.c.signed_at,
            P.c.signed_on,
            case(
                (at_or_before(P.c.signed_at, P.c.signed_on, shortest_eligible, params.tz), streak),
                else_=None,
            ).label("streak"),
            not_(partner_active_between(params, dormant_since, params.as_of)).label("dormant"),
        ).where(cohort_where(params))
    ).all()

    signed: dict[str, datetime] = {}
    for r in rows:
        at = effective(r.signed_at, r.signed_on, params.tz)
        if at is None:  # cohort_where keeps only partners signed (instant or date) before as_of
            raise AssertionError(f"partner {r.key!r} is in the cohort without a signing date")
        signed[r.key] = at
    windows = []
    for months in RETENTION_MONTHS:
        eligible = [r for r in rows if signed[r.key] <= bounds[months]]
        retained = sum(1 for r in eligible if r.streak is not None and r.streak >= months)
        windows.append(
            {
                "months": months,
                "eligible": len(eligible),
                "retained": retained,
                "rate": rate(retained, len(eligible)),
            }
        )
    return {"windows": windows, "dormant": sorted(r.key for r in rows if r.dormant)}
