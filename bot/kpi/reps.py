"""KPI 4, `reps`: productivity per person, and whether the number is carried by a few.

SQL aggregates the period's leads and deals per user (a covering range scan of those two
types) and lists the reps; Python merges the two by user id and reshapes the per-rep rows
into averages, the top-20 % share and the coaching flags.
"""

from __future__ import annotations

import heapq
import math
import statistics
from typing import Any

from sqlalchemy import Connection, func, select

from bot.core.events import DEAL, LEAD
from bot.kpi.params import KpiParams
from bot.kpi.sql import (
    E,
    P,
    U,
    cohort_where,
    in_period,
    narrowed,
    rate,
    registered_before,
)


def reps(conn: Connection, params: KpiParams) -> dict[str, Any]:
    # Two plain queries merged by user id: SQLite would otherwise build an automatic index
    # to join the per-user counts onto ~100k reps.
    per_user = (
        select(
            E.c.user_id,
            func.count().filter(E.c.type == LEAD),
            func.count().filter(E.c.type == DEAL),
        )
        .where(E.c.type.in_((LEAD, DEAL)), in_period(params))
        .group_by(E.c.user_id)
    )
    if narrowed(params):  # a book or a partner: from its partners into their events
        per_user = per_user.join(P, P.c.id == E.c.partner_id).where(cohort_where(params))
    counts = {user_id: (leads, deals) for user_id, leads, deals in conn.execute(per_user)}
    rows = [
        (key, partner_key, *counts.get(user_id, (0, 0)))
        for user_id, key, partner_key in conn.execute(
            select(U.c.id, U.c.key, P.c.key)
            .select_from(U.join(P, P.c.id == U.c.partner_id))
            .where(cohort_where(params), registered_before(params.period_to, params))
        )
    ]
    # Plain tuples sort natively by rep key (code point order, whatever the collation).
    people = [
        {
            "key": key,
            "partner_key": partner_key,
            "leads": leads,
            "deals": deals,
            "conversion": deals / leads if leads else None,
        }
        for key, partner_key, leads, deals in sorted(rows)
    ]
    flag_coaching(people, params.coaching_min_leads, params.coaching_ratio)

    count = len(people)
    deal_counts = [r["deals"] for r in people]
    total_leads = sum(r["leads"] for r in people)
    total_deals = sum(deal_counts)
    top_deals = sum(heapq.nlargest(math.ceil(0.2 * count), deal_counts))
    # "All deals in the period": every cohort deal registration, also those by users who
    # are not reps (no account yet, or registered after `to`), as `deals.registered` counts.
    all_deals = conn.execute(
        select(func.count())
        .select_from(E.join(P, P.c.id == E.c.partner_id))
        .where(E.c.type == DEAL, in_period(params), cohort_where(params))
    ).scalar_one()
    return {
        "per_rep_leads": rate(total_leads, count),
        "per_rep_deals": rate(total_deals, count),
        "active_reps": sum(1 for r in people if r["leads"] or r["deals"]),
        "top20_deal_share": rate(top_deals, int(all_deals)),
        "reps": people,
    }


def flag_coaching(people: list[dict[str, Any]], min_leads: int, ratio: float) -> float | None:
    """Mark reps with enough leads whose conversion is below `ratio` × the peer median.

    Peers are the reps with at least `min_leads` leads; returns that median (None if no peer).
    """
    peers = [r["conversion"] for r in people if r["leads"] >= min_leads]
    median = statistics.median(peers) if peers else None
    for rep in people:
        rep["needs_coaching"] = bool(
            median is not None and rep["leads"] >= min_leads and rep["conversion"] < ratio * median
        )
    return median
