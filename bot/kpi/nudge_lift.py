"""`nudge_lift`: does nudging work? Nudged reps vs holdout reps, over the last 30 days.

For each rep in scope with a next-action nudge in `[as_of − 30 days, as_of)` — sent, or
held out (the holdout gets the same decision, recorded but never sent) — take their first
such nudge and ask whether they then did what it asked (its target event type; `any`
activity for re-activation) before `as_of`. `lift` is the completion rate of nudged reps
minus that of holdout reps, in rate points (null when either group is empty).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, literal, or_, select

from bot.core.events import ACTIVITY_TYPES
from bot.core.timeutil import days_before
from bot.kpi.params import KpiParams
from bot.kpi.sql import E, P, U, cohort_where, rate
from bot.store import handles
from bot.store.ledger import HOLDOUT, NUDGE, NUDGE_JOB, SENT

D = handles.deliveries
WINDOW_DAYS = 30


def nudge_lift(conn: Connection, params: KpiParams) -> dict[str, Any]:
    start = days_before(params.as_of, WINDOW_DAYS, params.tz)
    ranked = (
        select(
            D.c.user_id,
            D.c.status,
            D.c.target,
            D.c.created_at,
            U.c.partner_id,
            func.row_number()
            .over(partition_by=D.c.user_id, order_by=(D.c.created_at, D.c.id))
            .label("n"),
        )
        .join(U, U.c.id == D.c.user_id)
        .join(P, P.c.id == U.c.partner_id)
        .where(
            D.c.job == NUDGE_JOB,
            D.c.kind == NUDGE,
            D.c.status.in_((SENT, HOLDOUT)),
            D.c.created_at >= start,
            D.c.created_at < params.as_of,
            cohort_where(params),
        )
        .subquery()
    )
    done = exists(
        select(literal(1)).where(
            E.c.partner_id == ranked.c.partner_id,
            E.c.user_id == ranked.c.user_id,
            E.c.occurred_at > ranked.c.created_at,
            E.c.occurred_at < params.as_of,
            E.c.type.in_(ACTIVITY_TYPES),  # a manager's decision is not the rep's progress
            or_(ranked.c.target == "any", ranked.c.target.is_(None), E.c.type == ranked.c.target),
        )
    )
    counts = {
        status: (int(reps), int(completed or 0))
        for status, reps, completed in conn.execute(
            select(ranked.c.status, func.count(), func.sum(case((done, 1), else_=0)))
            .where(and_(ranked.c.n == 1))
            .group_by(ranked.c.status)
        )
    }
    nudged, holdout = counts.get(SENT, (0, 0)), counts.get(HOLDOUT, (0, 0))
    nudged_rate, holdout_rate = rate(nudged[1], nudged[0]), rate(holdout[1], holdout[0])
    return {
        "window_days": WINDOW_DAYS,
        "nudged": {"reps": nudged[0], "completed": nudged[1], "rate": nudged_rate},
        "holdout": {"reps": holdout[0], "completed": holdout[1], "rate": holdout_rate},
        "lift": None if nudged_rate is None or holdout_rate is None else nudged_rate - holdout_rate,
    }
