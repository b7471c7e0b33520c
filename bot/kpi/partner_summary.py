"""The partners a weekly partner digest may go to, and what each has opened already.

Read models for bot.domain.partner_digest: the cohort's partners (signed before as_of,
narrowed by the scope, as every KPI counts them) with their shared channel, its workspace
and their local zone; and, for one partner, the assets anybody at it has downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from bot.core import events
from bot.kpi.params import KpiParams
from bot.kpi.sql import E, P, cohort_where


@dataclass(frozen=True)
class DigestPartner:
    key: str
    name: str
    channel: str | None  # the partner's shared (Slack Connect) channel; None: no digest
    channel_team: str | None  # the workspace that channel lives in (None: the vendor's)
    timezone: str | None  # IANA; None: PRM_TIMEZONE


def digest_partners(conn: Connection, params: KpiParams) -> list[DigestPartner]:
    """Every cohort partner, by key, with its channel, the channel's workspace and zone."""
    rows = conn.execute(
        select(P.c.key, P.c.name, P.c.slack_channel_id, P.c.slack_channel_team_id, P.c.timezone)
        .where(cohort_where(params))
        .order_by(P.c.key)
    )
    return [
        DigestPartner(r.key, r.name or r.key, r.slack_channel_id or None,
                      r.slack_channel_team_id or None, r.timezone or None)
        for r in rows
    ]  # fmt: skip


def opened_assets(conn: Connection, params: KpiParams) -> set[str]:
    """The keys of the assets anybody at the scope's partners downloaded before as_of
    (one DISTINCT over the (partner, type, time, object) index)."""
    rows = conn.execute(
        select(E.c.object_key)
        .select_from(E.join(P, P.c.id == E.c.partner_id))
        .where(
            cohort_where(params),
            E.c.type == events.DOWNLOAD,
            E.c.occurred_at < params.as_of,
            E.c.object_key.is_not(None),
        )
        .distinct()
    )
    return {str(key) for (key,) in rows}
