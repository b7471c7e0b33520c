"""`nudge_lift`: does nudging work? An experiment readout, nudged arm vs holdout arm,
over the last 30 days.

For each rep in scope with a next-action decision in `[as_of − 30 days, as_of)`, take
their first one and ask whether they then did what it asked (its target event type;
`any` activity for re-activation) before `as_of`. Intent to treat: the arm is what the
assignment said, not what happened next. A holdout rep's decision is recorded and never
sent (the control arm); a nudged rep stays in the nudged arm even when the message
failed, is still pending or its fate is unknown. Reps recorded as undeliverable (no
Slack id and no channel, decided before the assignment, for both arms alike) are in
neither arm.

On top of the two arms' counts and rates: the lift (absolute and relative), its
always-valid 95 % interval, the sample-ratio check against PRM_HOLDOUT_SHARE and a
verdict (bot.kpi.experiment explains the statistics).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, literal, or_, select

from bot.core.events import ACTIVITY_TYPES
from bot.core.timeutil import days_before
from bot.kpi.experiment import Arm, readout
from bot.kpi.params import KpiParams
from bot.kpi.sql import E, P, U, cohort_where
from bot.store import handles
from bot.store.ledger import HOLDOUT, NUDGE, NUDGE_JOB, UNDELIVERABLE

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
            D.c.status != UNDELIVERABLE,
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
    arm = case((ranked.c.status == HOLDOUT, literal(HOLDOUT)), else_=literal("nudged"))
    counts = {
        str(name): (int(reps), int(completed or 0))
        for name, reps, completed in conn.execute(
            select(arm, func.count(), func.sum(case((done, 1), else_=0)))
            .where(and_(ranked.c.n == 1))
            .group_by(arm)
        )
    }
    nudged, holdout = Arm(*counts.get("nudged", (0, 0))), Arm(*counts.get(HOLDOUT, (0, 0)))
    return {
        "window_days": WINDOW_DAYS,
        "nudged": {"reps": nudged.reps, "completed": nudged.converted, "rate": nudged.rate},
        "holdout": {"reps": holdout.reps, "completed": holdout.converted, "rate": holdout.rate},
        **readout(nudged, holdout, params.holdout_share),
    }
