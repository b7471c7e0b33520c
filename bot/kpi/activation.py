"""Which cohort partners registered their first deal in a window: the scorecard's "newly
activated" list.

It reads the trigger-kept first-event rollup under the engine's own cohort filter, so a
partner counted as activated here is one the `deals` KPI counts as activated too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from bot.core import events
from bot.kpi.params import KpiParams
from bot.kpi.sql import F, P, cohort_where


def newly_activated(conn: Connection, params: KpiParams, since: datetime) -> list[str]:
    """Keys of the cohort partners whose first deal lies in [since, as_of), by key."""
    return [
        key
        for (key,) in conn.execute(
            select(P.c.key)
            .join(F, F.c.partner_id == P.c.id)
            .where(
                cohort_where(params),
                F.c.type == events.DEAL,
                F.c.first_at >= since,
                F.c.first_at < params.as_of,
            )
            .order_by(P.c.key)
        )
    ]
