"""KPI 5, `retention`: do partners keep using the program 3, 6 and 12 months on?

Each eligible partner has a *streak*: how many consecutive monthly windows, counting back
from as_of, hold an active event. Whether each window (and the dormant one) holds one
comes from the monthly activity rollup for the cohort (`bot.kpi.activity.window_flags`),
exact, instead of a dozen probes of the event log per partner. Retained for N ⇔ streak ≥ N.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from bot.core.timeutil import days_before, months_before
from bot.kpi.activity import window_flags
from bot.kpi.params import DORMANT_DAYS, RETENTION_MONTHS, KpiParams
from bot.kpi.sql import P, at_or_before, cohort_where, effective, rate, with_stored_activity


def retention(conn: Connection, params: KpiParams) -> dict[str, Any]:
    params = with_stored_activity(conn, params)
    longest = max(RETENTION_MONTHS)
    bounds = [months_before(params.as_of, i, params.tz) for i in range(longest + 1)]
    dormant_since = days_before(params.as_of, DORMANT_DAYS, params.tz)
    # W_i = [bounds[i+1], bounds[i]); the streak is the first i whose window is empty.
    windows = [(bounds[i + 1], bounds[i]) for i in range(longest)]
    flags = window_flags(conn, params, windows, streak=True)
    recent = window_flags(conn, params, [(dormant_since, params.as_of)])
    shortest_eligible = bounds[min(RETENTION_MONTHS)]
    rows = conn.execute(
        select(
            P.c.id,
            P.c.key,
            P.c.signed_at,
            P.c.signed_on,
            at_or_before(P.c.signed_at, P.c.signed_on, shortest_eligible, params.tz).label(
                "eligible"
            ),
        ).where(cohort_where(params))
    ).all()
    never = [False] * longest

    signed: dict[str, datetime] = {}
    streaks: dict[str, int | None] = {}
    dormant: list[str] = []
    for r in rows:
        at = effective(r.signed_at, r.signed_on, params.tz)
        if at is None:  # cohort_where keeps only partners signed (instant or date) before as_of
            raise AssertionError(f"partner {r.key!r} is in the cohort without a signing date")
        signed[r.key] = at
        active = flags.get(r.id, never)
        streaks[r.key] = (
            next((i for i in range(longest) if not active[i]), longest) if r.eligible else None
        )
        if not recent.get(r.id, [False])[0]:
            dormant.append(r.key)
    windows_out = []
    for months in RETENTION_MONTHS:
        eligible = [key for key, at in signed.items() if at <= bounds[months]]
        retained = sum(1 for key in eligible if (streaks[key] or 0) >= months)
        windows_out.append(
            {
                "months": months,
                "eligible": len(eligible),
                "retained": retained,
                "rate": rate(retained, len(eligible)),
            }
        )
    return {"windows": windows_out, "dormant": sorted(dormant)}
