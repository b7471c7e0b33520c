"""What people change by pressing buttons: a rep's tips on or off, and a CS owner's
acknowledgement or snooze of an alert. Who may press what is checked here."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, select, update

from bot.kpi.sql import U
from bot.store.tables import AlertEpisode

A = AlertEpisode.__table__


class Outcome(StrEnum):
    DONE = "done"
    NOT_YOURS = "not_yours"
    NOT_A_REP = "not_a_rep"
    GONE = "gone"


def set_tips(conn: Connection, slack_user_id: str, on: bool, now: datetime) -> Outcome:
    """`/prm tips on|off`: every rep row linked to this Slack account."""
    result = conn.execute(
        update(U).where(U.c.slack_user_id == slack_user_id).values(tips_off_at=None if on else now)
    )
    return Outcome.DONE if result.rowcount else Outcome.NOT_A_REP


def stop_tips(
    conn: Connection, presser: str, rep_key: str, admins: frozenset[str], now: datetime
) -> Outcome:
    """ "Stop these tips" on a nudge. In a DM only that rep can press it; on a nudge in a
    partner's shared channel (a rep without Slack), any rep of that partner or an admin."""
    rep = conn.execute(
        select(U.c.id, U.c.partner_id, U.c.slack_user_id).where(U.c.key == rep_key)
    ).first()
    if rep is None:
        return Outcome.GONE
    allowed = presser in admins or rep.slack_user_id == presser
    if not allowed and rep.slack_user_id is None:
        colleague = conn.execute(
            select(U.c.id).where(U.c.partner_id == rep.partner_id, U.c.slack_user_id == presser)
        ).first()
        allowed = colleague is not None
    if not allowed:
        return Outcome.NOT_YOURS
    conn.execute(update(U).where(U.c.id == rep.id).values(tips_off_at=now))
    return Outcome.DONE


def _episode(conn: Connection, episode_id: str, presser: str, admins: frozenset[str]):
    if not (episode_id.isascii() and episode_id.isdigit() and len(episode_id) <= 18):
        return None, Outcome.GONE
    row = conn.execute(select(A).where(A.c.id == int(episode_id))).first()
    if row is None:
        return None, Outcome.GONE
    if presser != row.cs_slack_id and presser not in admins:
        return row, Outcome.NOT_YOURS
    return row, Outcome.DONE


def ack_alert(
    conn: Connection, episode_id: str, presser: str, admins: frozenset[str], now: datetime
) -> Outcome:
    row, outcome = _episode(conn, episode_id, presser, admins)
    if outcome is Outcome.DONE:
        conn.execute(
            update(A)
            .where(A.c.id == row.id)
            .values(acked_at=now, acked_by=presser, snoozed_until=None)
        )
    return outcome


def snooze_alert(
    conn: Connection,
    episode_id: str,
    presser: str,
    admins: frozenset[str],
    now: datetime,
    days: int,
) -> Outcome:
    row, outcome = _episode(conn, episode_id, presser, admins)
    if outcome is Outcome.DONE:
        conn.execute(
            update(A).where(A.c.id == row.id).values(snoozed_until=now + timedelta(days=days))
        )
    return outcome
