"""Shared SQL pieces: table handles, the cohort filter and the event predicates.

Every KPI is "cohort partners × their events"; keeping those predicates in one place is
what makes the five numbers agree with each other.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, exists, select, true

from bot.kpi.params import KpiParams
from bot.models import EVENT_TYPES, Event, Partner, PartnerFirstEvent, PartnerUser

P = Partner.__table__
U = PartnerUser.__table__
E = Event.__table__
F = PartnerFirstEvent.__table__  # first time per partner and event type (trigger-kept)


def cohort_where(params: KpiParams) -> ColumnElement[bool]:
    """Partners signed strictly before as_of, narrowed by every filter of the scope."""
    scope = params.scope
    clauses: list[ColumnElement[bool]] = [
        P.c.signed_at.is_not(None),
        P.c.signed_at < params.as_of,
    ]
    if scope.partner_key is not None:
        clauses.append(P.c.key == scope.partner_key)
    if scope.manager_slack_id is not None:
        clauses.append(P.c.manager_slack_id == scope.manager_slack_id)
    if scope.tier is not None:
        clauses.append(P.c.tier == scope.tier)
    if scope.signed_from is not None:
        clauses.append(P.c.signed_at >= scope.signed_from)
    if scope.signed_to is not None:
        clauses.append(P.c.signed_at < scope.signed_to)
    return and_(*clauses)


def in_period(params: KpiParams) -> ColumnElement[bool]:
    return and_(E.c.occurred_at >= params.period_from, E.c.occurred_at < params.period_to)


def active_type_filter(params: KpiParams) -> ColumnElement[bool]:
    """No filter when every type counts: the (partner, time) index then answers alone."""
    if set(params.active_types) >= set(EVENT_TYPES):
        return true()
    return E.c.type.in_(params.active_types)


def partner_active_between(
    params: KpiParams, start: datetime, end: datetime
) -> ColumnElement[bool]:
    """EXISTS an active event of the outer partner in [start, end): one index probe."""
    return exists(
        select(1).where(
            E.c.partner_id == P.c.id,
            E.c.occurred_at >= start,
            E.c.occurred_at < end,
            active_type_filter(params),
        )
    )


def rate(numerator: int, denominator: int) -> float | None:
    """A fraction, unrounded; null (None) where the divisor is 0."""
    return numerator / denominator if denominator else None


def first_events(
    conn: Connection, params: KpiParams, types: list[str]
) -> dict[str, dict[str, datetime]]:
    """Per cohort partner key: {event type: first occurrence before as_of}.

    Reads the trigger-kept rollup: the first X before as_of is the first X ever, when that
    is earlier than as_of.
    """
    found: dict[str, dict[str, datetime]] = {}
    if not types:
        return found
    rows = conn.execute(
        select(P.c.key, F.c.type, F.c.first_at)
        .join(P, P.c.id == F.c.partner_id)
        .where(cohort_where(params), F.c.type.in_(types), F.c.first_at < params.as_of)
    )
    for key, type_, first_at in rows:
        found.setdefault(key, {})[type_] = first_at
    return found
