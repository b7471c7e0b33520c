"""Slack Connect invitations (`partner_invite`), who is in a partner's channel
(`channel_member`), and the two partner-side columns that Slack Connect fills in: the
partner's channel (`partner.slack_channel_id`) and a rep's Slack account
(`partner_user.slack_user_id` / `slack_team_id`, from an accepted invitation).

Slack retries its events and an operator reruns `prm partners connect`: every write here
is an idempotent upsert or a conditional update, so doing it twice changes nothing more.
What the rows mean is decided in bot.domain.connect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from bot.store.engine import insert_ignore, table_of
from bot.store.handles import partners as P
from bot.store.handles import reps as U
from bot.store.tables import ChannelMember, PartnerInvite

INV = table_of(PartnerInvite)
M = table_of(ChannelMember)

PENDING, ACCEPTED, DECLINED, FAILED = "pending", "accepted", "declined", "failed"


@dataclass(frozen=True)
class PartnerChannel:
    id: int
    key: str
    name: str
    manager_slack_id: str | None
    channel_id: str | None
    channel_team_id: str | None


@dataclass(frozen=True)
class Invite:
    id: int
    partner_id: int
    partner_key: str
    email: str
    channel_id: str
    status: str
    invite_id: str | None


def partner_channel(conn: Connection, partner_key: str) -> PartnerChannel | None:
    row = conn.execute(
        select(
            P.c.id,
            P.c.key,
            P.c.name,
            P.c.manager_slack_id,
            P.c.slack_channel_id,
            P.c.slack_channel_team_id,
        ).where(P.c.key == partner_key)
    ).first()
    if row is None:
        return None
    return PartnerChannel(
        row.id,
        row.key,
        row.name,
        row.manager_slack_id,
        row.slack_channel_id,
        row.slack_channel_team_id,
    )


def set_channel(conn: Connection, partner_id: int, channel_id: str) -> str | None:
    """Record the partner's channel (in the vendor's workspace) unless it has one; the
    channel it has now."""
    conn.execute(
        update(P)
        .where(P.c.id == partner_id, P.c.slack_channel_id.is_(None))
        .values(slack_channel_id=channel_id, slack_channel_team_id=None)
    )
    return conn.execute(select(P.c.slack_channel_id).where(P.c.id == partner_id)).scalar()


def is_partner_channel(conn: Connection, channel_id: str) -> bool:
    found = conn.execute(select(P.c.id).where(P.c.slack_channel_id == channel_id)).first()
    return found is not None


def statuses(conn: Connection, partner_id: int) -> dict[str, str]:
    """Each address invited to the partner's channel, and the invitation's state."""
    rows = conn.execute(select(INV.c.email, INV.c.status).where(INV.c.partner_id == partner_id))
    return {email: status for email, status in rows}


def claim(
    conn: Connection, partner_id: int, email: str, channel_id: str, limited: bool, now: datetime
) -> bool:
    """Take (partner, email) for one invitation now: a new row, or a failed one again,
    marked pending before Slack is asked, so two runs at once invite nobody twice. False
    when it is pending, accepted or declined already."""
    inserted = conn.execute(
        insert_ignore(conn, INV, ["partner_id", "email"])
        .values(
            partner_id=partner_id,
            email=email,
            channel_id=channel_id,
            limited=limited,
            status=PENDING,
            created_at=now,
            updated_at=now,
        )
        .returning(INV.c.id)
    ).first()
    if inserted is not None:
        return True
    again = conn.execute(
        update(INV)
        .where(INV.c.partner_id == partner_id, INV.c.email == email, INV.c.status == FAILED)
        .values(status=PENDING, channel_id=channel_id, limited=limited, error=None, updated_at=now)
    ).rowcount
    return bool(again)


def record_sent(
    conn: Connection, partner_id: int, email: str, invite_id: str | None, now: datetime
) -> None:
    conn.execute(
        update(INV)
        .where(INV.c.partner_id == partner_id, INV.c.email == email)
        .values(status=PENDING, invite_id=invite_id, error=None, updated_at=now)
    )


def record_failed(
    conn: Connection,
    partner_id: int,
    email: str,
    error: str,
    now: datetime,
    *,
    status: str = FAILED,
) -> None:
    """Slack refused it: kept with Slack's code, to be tried again by a later run (or, for
    `already_in_channel`, settled as accepted)."""
    conn.execute(
        update(INV)
        .where(INV.c.partner_id == partner_id, INV.c.email == email)
        .values(status=status, error=error[:64], updated_at=now)
    )


def _invite(row: Any) -> Invite:
    return Invite(
        row.id, row.partner_id, row.key, row.email, row.channel_id, row.status, row.invite_id
    )


def find(
    conn: Connection, invite_id: str | None, channel_id: str | None, email: str | None
) -> Invite | None:
    """The invitation an event is about: by Slack's invite id, else by channel and address
    (an invitation whose answer was lost has no id)."""
    query = select(
        INV.c.id,
        INV.c.partner_id,
        P.c.key,
        INV.c.email,
        INV.c.channel_id,
        INV.c.status,
        INV.c.invite_id,
    ).join(P, P.c.id == INV.c.partner_id)
    if invite_id:
        row = conn.execute(query.where(INV.c.invite_id == invite_id)).first()
        if row is not None:
            return _invite(row)
    if channel_id and email:
        row = conn.execute(
            query.where(INV.c.channel_id == channel_id, INV.c.email == email.strip().lower())
        ).first()
        if row is not None:
            return _invite(row)
    return None


def mark_accepted(
    conn: Connection, row_id: int, user_id: str, team_id: str | None, now: datetime
) -> bool:
    """Accepted by this user of this team; True the first time (a replay changes nothing)."""
    changed = conn.execute(
        update(INV)
        .where(
            INV.c.id == row_id,
            or_(
                INV.c.status != ACCEPTED,
                INV.c.slack_user_id.is_(None),
                INV.c.slack_user_id != user_id,
            ),
        )
        .values(
            status=ACCEPTED,
            slack_user_id=user_id,
            slack_team_id=team_id,
            error=None,
            updated_at=now,
        )
    ).rowcount
    return bool(changed)


def mark_declined(conn: Connection, row_id: int, now: datetime) -> bool:
    """Declined; an invitation accepted already stays accepted."""
    changed = conn.execute(
        update(INV)
        .where(INV.c.id == row_id, INV.c.status.in_((PENDING, FAILED)))
        .values(status=DECLINED, updated_at=now)
    ).rowcount
    return bool(changed)


def link_rep(
    conn: Connection, partner_id: int, email: str, user_id: str, team_id: str | None
) -> int:
    """The partner's rep with this address (any case) is this Slack account: their Slack id
    is set if they had none, and the workspace it belongs to with it. A rep who has another
    Slack id already keeps it, and their workspace."""
    mine = (
        (U.c.partner_id == partner_id)
        & (func.lower(func.trim(U.c.email)) == email.strip().lower())
        & or_(U.c.slack_user_id.is_(None), U.c.slack_user_id == "", U.c.slack_user_id == user_id)
    )
    return int(
        conn.execute(
            update(U).where(mine).values(slack_user_id=user_id, slack_team_id=team_id)
        ).rowcount
    )


def add_member(
    conn: Connection, channel_id: str, user_id: str, team_id: str | None, now: datetime
) -> None:
    """The user is in the channel (once; the team is filled in when a later event knows it)."""
    conn.execute(
        insert_ignore(conn, M, ["channel_id", "slack_user_id"]).values(
            channel_id=channel_id, slack_user_id=user_id, slack_team_id=team_id, joined_at=now
        )
    )
    if team_id:
        conn.execute(
            update(M)
            .where(
                M.c.channel_id == channel_id,
                M.c.slack_user_id == user_id,
                M.c.slack_team_id.is_(None),
            )
            .values(slack_team_id=team_id)
        )


def members(conn: Connection, channel_id: str) -> dict[str, str | None]:
    rows = conn.execute(
        select(M.c.slack_user_id, M.c.slack_team_id).where(M.c.channel_id == channel_id)
    )
    return {user: team for user, team in rows}
