"""Read models for the manager's worklist (bot.domain.worklist): since when each cohort
partner has been at its journey step, which signed partners have no deal yet, and the
pipeline each partner has at stake.

Steps come from the funnel's own progress (the first-event rollup under the cohort
filter), so "stuck at step X" here is the partner the `funnel` KPI counts as stuck there;
"not activated" is the `deals` KPI's activation (a first deal registration) read from the
same rollup; the pipeline is summed in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, and_, exists, func, not_, select

from bot.core import events
from bot.kpi.funnel import partner_progress
from bot.kpi.params import KpiParams
from bot.kpi.sql import E, F, P, cohort_where, effective, signed_before


@dataclass(frozen=True)
class AtStep:
    """A partner's deepest journey step (index into the journey) and since when."""

    key: str
    depth: int
    since: datetime | None
    last_step: bool  # every step done: not stuck anywhere


def at_steps(conn: Connection, params: KpiParams) -> dict[str, AtStep]:
    """Per cohort partner key: the step it is at, and the instant it got there."""
    n = len(params.journey)
    return {
        p.key: AtStep(p.key, p.reached, p.reached_at, p.reached >= n - 1)
        for p in partner_progress(conn, params)
    }


def not_activated(conn: Connection, params: KpiParams, signed_by: datetime) -> dict[str, datetime]:
    """Cohort partners signed before `signed_by` with no deal registration before as_of:
    key → when they signed."""
    has_deal = exists(
        select(1).where(
            F.c.partner_id == P.c.id, F.c.type == events.DEAL, F.c.first_at < params.as_of
        )
    )
    rows = conn.execute(
        select(P.c.key, P.c.signed_at, P.c.signed_on).where(
            cohort_where(params), signed_before(signed_by, params), not_(has_deal)
        )
    )
    out: dict[str, datetime] = {}
    for key, at, on in rows:
        when = effective(at, on, params.tz)
        if when is not None:
            out[key] = when
    return out


def open_pipeline(conn: Connection, params: KpiParams, keys: list[str]) -> dict[str, Decimal]:
    """Per partner key: the amounts of its deal registrations (before as_of) not won yet."""
    if not keys:
        return {}
    won = E.alias("won")
    not_won = not_(
        exists(
            select(1).where(
                won.c.partner_id == E.c.partner_id,
                won.c.type == events.WON,
                won.c.object_key == E.c.object_key,
                won.c.occurred_at < params.as_of,
            )
        )
    )
    rows = conn.execute(
        select(P.c.key, func.sum(E.c.amount))
        .select_from(E.join(P, P.c.id == E.c.partner_id))
        .where(
            P.c.key.in_(keys),
            and_(E.c.type == events.DEAL, E.c.occurred_at < params.as_of),
            E.c.amount.is_not(None),
            E.c.object_key.is_not(None),
            not_won,
        )
        .group_by(P.c.key)
    )
    return {key: Decimal(total) for key, total in rows if total is not None}


def last_active(conn: Connection, params: KpiParams, keys: list[str]) -> dict[str, datetime]:
    """Per partner key: its last active event before as_of (one index range per partner)."""
    if not keys:
        return {}
    types = params.active_types
    rows = conn.execute(
        select(P.c.key, func.max(E.c.occurred_at))
        .select_from(E.join(P, P.c.id == E.c.partner_id))
        .where(P.c.key.in_(keys), E.c.occurred_at < params.as_of, E.c.type.in_(types))
        .group_by(P.c.key)
    )
    return {key: at for key, at in rows if at is not None}
