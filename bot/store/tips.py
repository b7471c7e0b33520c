"""Whether a rep gets tips: the `tips_off_at` column of `partner_user`, its one writer.

Kept apart from the rest of the rep's row (which the importer owns) because it is the
only part a person changes from Slack: "Stop these tips" on a nudge, `/prm tips on|off`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from bot.store.handles import reps


@dataclass(frozen=True)
class TipsRep:
    """A rep as the tips switch needs it."""

    id: int
    partner_id: int
    slack_user_id: str | None


def set_tips_off_for_slack_user(
    conn: Connection, slack_user_id: str, off_at: datetime | None
) -> int:
    """Every rep row linked to this Slack account: tips off since `off_at`, or on (None).
    Returns how many rows there were."""
    result = conn.execute(
        update(reps).where(reps.c.slack_user_id == slack_user_id).values(tips_off_at=off_at)
    )
    return int(result.rowcount)


def set_tips_off(conn: Connection, rep_id: int, off_at: datetime) -> None:
    conn.execute(update(reps).where(reps.c.id == rep_id).values(tips_off_at=off_at))


def rep_by_key(conn: Connection, rep_key: str) -> TipsRep | None:
    row = conn.execute(
        select(reps.c.id, reps.c.partner_id, reps.c.slack_user_id).where(reps.c.key == rep_key)
    ).first()
    return TipsRep(row.id, row.partner_id, row.slack_user_id) if row else None


def is_rep_of_partner(conn: Connection, partner_id: int, slack_user_id: str) -> bool:
    """Whether this Slack account is one of the partner's reps."""
    row = conn.execute(
        select(reps.c.id).where(
            reps.c.partner_id == partner_id, reps.c.slack_user_id == slack_user_id
        )
    ).first()
    return row is not None
