"""Shared SQL pieces: table handles, the cohort filter and the event predicates.

Every KPI is "cohort partners × their events"; keeping those predicates in one place is
what makes the five numbers agree with each other.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    func,
    or_,
    select,
    text,
    true,
)

from bot.core.events import EVENT_TYPES
from bot.core.timeutil import local_midnight
from bot.kpi.params import KpiParams, Scope
from bot.store import handles
from bot.store.partners import member_of

# The engine's short names for the tables every KPI joins.
P = handles.partners
U = handles.reps
E = handles.events
F = handles.first_events
M = handles.month_activity  # per partner, UTC month and type (bot/store/rollups.py)


def first_day_not_before(instant: datetime, tz: ZoneInfo) -> date:
    """The first date whose local midnight is at or after `instant`.

    So "midnight of d < instant" is "d < first_day_not_before(instant)": a plain-date
    column compares with an instant in the reporting zone without converting every row.
    """
    day = instant.astimezone(tz).date()
    return day + timedelta(days=1) if local_midnight(day, tz) < instant else day


def first_day_after(instant: datetime, tz: ZoneInfo) -> date:
    """The first date whose local midnight is after `instant` ("midnight of d ≤ instant"
    is "d < first_day_after(instant)")."""
    day = instant.astimezone(tz).date()
    return day + timedelta(days=1) if local_midnight(day, tz) <= instant else day


def before(
    at: ColumnElement[Any], on: ColumnElement[Any], instant: datetime, tz: ZoneInfo
) -> ColumnElement[bool]:
    """The instant-or-plain-date pair (`at`, `on`) is strictly before `instant`."""
    return or_(at < instant, on < first_day_not_before(instant, tz))


def not_before(
    at: ColumnElement[Any], on: ColumnElement[Any], instant: datetime, tz: ZoneInfo
) -> ColumnElement[bool]:
    """At or after `instant`; spelt positively, since NOT of a NULL comparison is NULL."""
    return or_(at >= instant, on >= first_day_not_before(instant, tz))


def at_or_before(
    at: ColumnElement[Any], on: ColumnElement[Any], instant: datetime, tz: ZoneInfo
) -> ColumnElement[bool]:
    return or_(at <= instant, on < first_day_after(instant, tz))


def effective(at: datetime | None, on: date | None, tz: ZoneInfo) -> datetime | None:
    """The instant an instant-or-plain-date pair stands for in the reporting zone (UTC)."""
    if at is not None:
        return at
    return local_midnight(on, tz).astimezone(UTC) if on is not None else None


def signed_before(instant: datetime, params: KpiParams) -> ColumnElement[bool]:
    return before(P.c.signed_at, P.c.signed_on, instant, params.tz)


def registered_before(instant: datetime, params: KpiParams) -> ColumnElement[bool]:
    return before(U.c.registered_at, U.c.registered_on, instant, params.tz)


def cohort_where(params: KpiParams) -> ColumnElement[bool]:
    """Partners signed strictly before as_of, narrowed by every filter of the scope."""
    scope = params.scope
    clauses: list[ColumnElement[bool]] = [signed_before(params.as_of, params)]
    if scope.partner_key is not None:
        clauses.append(P.c.key == scope.partner_key)
    if scope.manager_slack_id is not None:
        clauses.append(P.c.manager_slack_id == scope.manager_slack_id)
    if scope.cs_slack_id is not None:
        clauses.append(P.c.cs_slack_id == scope.cs_slack_id)
    if scope.member_slack_id is not None:
        clauses.append(member_of(scope.member_slack_id))
    if scope.tier is not None:
        clauses.append(P.c.tier == scope.tier)
    if scope.signed_from is not None:
        clauses.append(not_before(P.c.signed_at, P.c.signed_on, scope.signed_from, params.tz))
    if scope.signed_to is not None:
        clauses.append(signed_before(scope.signed_to, params))
    return and_(*clauses)


def narrowed(params: KpiParams) -> bool:
    """True when the question is about part of the program (a partner, a book, a tier…):
    then event scans take the cohort's partner ids inside, so that their cost follows
    the scope instead of the whole program's events."""
    return params.scope != Scope()


def in_cohort(params: KpiParams) -> ColumnElement[bool]:
    """The event's partner is in the cohort: `partner_id IN (SELECT id … cohort)`."""
    return E.c.partner_id.in_(select(P.c.id).where(cohort_where(params)))


def cohort_size(conn: Connection, params: KpiParams) -> int:
    return int(
        conn.execute(select(func.count()).select_from(P).where(cohort_where(params))).scalar_one()
    )


def in_period(params: KpiParams) -> ColumnElement[bool]:
    return and_(E.c.occurred_at >= params.period_from, E.c.occurred_at < params.period_to)


def active_type_filter(
    params: KpiParams, column: ColumnElement[str] | None = None
) -> ColumnElement[bool]:
    """No filter when every type counts: the (partner, time) index then answers alone."""
    if set(params.active_types) >= set(EVENT_TYPES):
        return true()
    return (E.c.type if column is None else column).in_(params.active_types)


def with_stored_activity(conn: Connection, params: KpiParams) -> KpiParams:
    """If every event type actually stored counts as activity, say "all types", so the
    activity probes need no type filter and stay one (partner, time) index probe.

    The store usually holds only the six activity types (deal decisions exist only once
    registration in Slack is used), and the types present are read from the small
    first-event rollup, not from the event log.
    """
    if set(params.active_types) >= set(EVENT_TYPES):
        return params
    if stored_types(conn) <= set(params.active_types):
        return replace(params, active_types=EVENT_TYPES)
    return params


# A loose index scan: from each type found, the next one up is one probe of
# ix_partner_first_event_type. A DISTINCT read every partner's rows (16 ms at 40,000
# partners, twice per report, most of one partner's answer).
_STORED_TYPES = text(
    f"""
WITH RECURSIVE found(type) AS (
    SELECT (SELECT type FROM {F.name} ORDER BY type LIMIT 1)
    UNION ALL
    SELECT (SELECT f.type FROM {F.name} f WHERE f.type > found.type ORDER BY f.type LIMIT 1)
    FROM found WHERE found.type IS NOT NULL
)
SELECT type FROM found WHERE type IS NOT NULL
"""
)


def stored_types(conn: Connection) -> set[str]:
    """The event types the store holds (those with a first event for some partner)."""
    return set(conn.execute(_STORED_TYPES).scalars())


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
