"""KPI 3, `deals`: activation. Who has registered a deal, who is new, who needs a last push.

One row per cohort partner: its deal registrations in the period (counted on the index)
and the time of its first deal registration ever.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from bot.core.events import DEAL
from bot.kpi.params import KpiParams
from bot.kpi.sql import E, F, P, cohort_where, in_period, rate


def deals(conn: Connection, params: KpiParams) -> dict[str, Any]:
    in_period_count = (
        select(func.count())
        .where(E.c.partner_id == P.c.id, E.c.type == DEAL, in_period(params))
        .scalar_subquery()
    )
    first_ever = (
        select(F.c.first_at).where(F.c.partner_id == P.c.id, F.c.type == DEAL).scalar_subquery()
    )
    rows = sorted(
        conn.execute(
            select(
                P.c.key, in_period_count.label("registered"), first_ever.label("first_deal")
            ).where(cohort_where(params))
        ).all(),
        key=lambda r: r.key,
    )

    activated = [r for r in rows if r.first_deal is not None and r.first_deal < params.as_of]
    newly = [
        r
        for r in rows
        if r.first_deal is not None and params.period_from <= r.first_deal < params.period_to
    ]
    activated_keys = {r.key for r in activated}
    return {
        "registered": sum(int(r.registered) for r in rows),
        "activated": len(activated),
        "activation_rate": rate(len(activated), len(rows)),
        "newly_activated": len(newly),
        "by_partner": [{"key": r.key, "registered": int(r.registered)} for r in rows],
        "not_activated": [r.key for r in rows if r.key not in activated_keys],
    }
