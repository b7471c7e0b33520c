"""A rep's tips on or off: `/prm tips on|off`, and "Stop these tips" on a nudge.

The rule of who may press "Stop these tips" lives here; the column it changes is
bot.store.tips'.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from bot.domain.outcome import Outcome
from bot.store import tips as store

__all__ = ["Outcome", "may_stop_tips", "set_tips", "stop_tips"]


def set_tips(conn: Connection, slack_user_id: str, on: bool, now: datetime) -> Outcome:
    """`/prm tips on|off`: every rep row linked to this Slack account."""
    changed = store.set_tips_off_for_slack_user(conn, slack_user_id, None if on else now)
    return Outcome.DONE if changed else Outcome.NOT_A_REP


def may_stop_tips(
    presser: str, rep_slack_id: str | None, admins: frozenset[str], colleague: bool
) -> bool:
    """In a DM only that rep may stop its tips; on a nudge in a partner's shared channel
    (a rep without Slack), any rep of that partner (`colleague`) or an admin."""
    if presser in admins or rep_slack_id == presser:
        return True
    return rep_slack_id is None and colleague


def stop_tips(
    conn: Connection, presser: str, rep_key: str, admins: frozenset[str], now: datetime
) -> Outcome:
    """ "Stop these tips" on a nudge (who may press it: `may_stop_tips`)."""
    rep = store.rep_by_key(conn, rep_key)
    if rep is None:
        return Outcome.GONE
    allowed = may_stop_tips(presser, rep.slack_user_id, admins, colleague=False)
    if not allowed and rep.slack_user_id is None:  # asked only when it decides
        allowed = store.is_rep_of_partner(conn, rep.partner_id, presser)
    if not allowed:
        return Outcome.NOT_YOURS
    store.set_tips_off(conn, rep.id, now)
    return Outcome.DONE
