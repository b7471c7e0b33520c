"""The reps the next-action job speaks to: every registered user of a signed partner in
scope, as of the question's as_of.

Who counts is the KPI engine's cohort (`cohort_where`, `registered_before`), so the reps
nudged are exactly the reps the `reps` KPI counts; the nudge rules themselves live in
bot.domain.nudges.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from bot.kpi.params import KpiParams
from bot.kpi.sql import P, U, cohort_where, registered_before
from bot.store.handles import slack_teams as T


@dataclass(frozen=True)
class Rep:
    user_id: int
    key: str
    name: str
    slack_user_id: str | None
    locale: str | None
    tips_off: bool
    partner_id: int
    partner_key: str
    partner_name: str
    partner_channel: str | None
    # The workspace of the rep's Slack id: their own (set when they joined over Slack
    # Connect), else their partner's installation, else None (the vendor's).
    slack_team_id: str | None = None
    # The workspace the partner channel lives in (None: the vendor's).
    channel_team_id: str | None = None


def cohort_reps(conn: Connection, params: KpiParams) -> list[Rep]:
    """Every registered user of a signed partner in scope, as of params.as_of, by key; an
    unnamed rep is named by key."""
    installed = (
        select(T.c.team_id)
        .where(T.c.partner_id == P.c.id, T.c.installed_at.is_not(None))
        .order_by(T.c.installed_at.desc(), T.c.team_id)
        .limit(1)
        .correlate(P)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            U.c.id,
            U.c.key,
            U.c.name,
            U.c.slack_user_id,
            U.c.locale,
            U.c.tips_off_at,
            P.c.id.label("pid"),
            P.c.key.label("pkey"),
            P.c.name.label("pname"),
            P.c.slack_channel_id,
            func.coalesce(U.c.slack_team_id, installed).label("team"),
            P.c.slack_channel_team_id,
        )
        .join(P, P.c.id == U.c.partner_id)
        .where(cohort_where(params), registered_before(params.as_of, params))
        .order_by(U.c.key)
    )
    return [
        Rep(
            r.id,
            r.key,
            r.name or r.key,
            r.slack_user_id,
            r.locale,
            r.tips_off_at is not None,
            r.pid,
            r.pkey,
            r.pname,
            r.slack_channel_id,
            r.team if r.slack_user_id else None,  # no Slack account: no workspace
            r.slack_channel_team_id,
        )
        for r in rows
    ]
