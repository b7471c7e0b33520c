"""A partner's and a rep's own dates, read the way the KPI engine reads them.

A partner card and `/prm me` show when a partner signed and when a rep registered or first
did each journey step. Those are instant-or-plain-date pairs, and only the engine knows
how a plain date reads in the reporting zone (`effective`, `first_day_not_before`), so
the cards are worked out here: a card then never disagrees with `prm kpi`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection

from bot.kpi.params import KpiParams
from bot.kpi.sql import effective, first_day_not_before
from bot.store import activity, partners


@dataclass(frozen=True)
class PartnerProfile:
    key: str
    name: str
    tier: str | None
    signed_at: datetime | None  # the instant it signed, in the reporting zone


def partner_profile(conn: Connection, params: KpiParams, key: str) -> PartnerProfile:
    """The partner's key, name, tier and signing instant; raises for an unknown key."""
    row = partners.partner_row(conn, key)
    return PartnerProfile(
        row.key, row.name, row.tier, effective(row.signed_at, row.signed_on, params.tz)
    )


def rep_milestones(conn: Connection, params: KpiParams, rep_key: str) -> dict[str, datetime | None]:
    """{journey source: when the rep got there}: "signed" (their partner), "registered"
    (only if before as_of) and, per journey event type, their own first such event
    before as_of. Raises for an unknown rep."""
    dates = partners.rep_dates(conn, rep_key)
    event_types = [s.event_type for s in params.journey if s.event_type]
    firsts = activity.rep_first_times(conn, rep_key, event_types, params.as_of)
    return {
        "signed": effective(dates.signed_at, dates.signed_on, params.tz),
        "registered": _registered(dates.registered_at, dates.registered_on, params),
        **firsts,
    }


def _registered(at: datetime | None, on: date | None, p: KpiParams) -> datetime | None:
    if at is not None and at < p.as_of:
        return at
    if on is not None and on < first_day_not_before(p.as_of, p.tz):
        return effective(None, on, p.tz)
    return None
