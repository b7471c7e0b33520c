"""The `worklist_action` table's one owner: what managers did about the partners on their
`/prm todo` worklist (nudged, handed to CS, snoozed, opened), and the partner facts a
worklist button needs (its CS owner, its name).

The domain (bot.domain.worklist) decides what goes on the list and what an action means;
this module only reads and writes the rows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, insert, select

from bot.store.engine import table_of
from bot.store.handles import partners as P
from bot.store.tables import WorklistAction

W = table_of(WorklistAction)


@dataclass(frozen=True)
class Contacts:
    """Who looks after a partner, and where its shared channel is."""

    key: str
    name: str
    manager_slack_id: str | None
    cs_slack_id: str | None
    channel_id: str | None


@dataclass(frozen=True)
class Done:
    """One recorded action, with the partner it was about."""

    partner_key: str
    action: str
    reason: str
    depth: int
    at: datetime


def contacts(conn: Connection, partner_key: str) -> Contacts | None:
    row = conn.execute(
        select(
            P.c.key, P.c.name, P.c.manager_slack_id, P.c.cs_slack_id, P.c.slack_channel_id
        ).where(P.c.key == partner_key)
    ).first()
    return Contacts(*row) if row else None


def record(
    conn: Connection,
    slack_user_id: str,
    partner_key: str,
    action: str,
    reason: str,
    depth: int,
    now: datetime,
    until: datetime | None = None,
) -> None:
    """Store one action (inside the caller's transaction)."""
    partner_id = select(P.c.id).where(P.c.key == partner_key).scalar_subquery()
    conn.execute(
        insert(W).values(
            slack_user_id=slack_user_id,
            partner_id=partner_id,
            action=action,
            reason=reason,
            depth=depth,
            created_at=now,
            until=until,
        )
    )


def snoozed(conn: Connection, slack_user_id: str, now: datetime) -> set[str]:
    """Partner keys this person snoozed on their worklist, the snooze still running."""
    rows = conn.execute(
        select(P.c.key)
        .join(W, W.c.partner_id == P.c.id)
        .where(W.c.slack_user_id == slack_user_id, W.c.action == "snooze", W.c.until > now)
        .distinct()
    )
    return {key for (key,) in rows}


def actions_between(
    conn: Connection,
    slack_user_id: str,
    start: datetime,
    end: datetime,
    actions: Collection[str] = ("nudge", "hand_cs"),
) -> list[Done]:
    """This person's first action of each kind per partner in [start, end), oldest first."""
    first = (
        select(W.c.partner_id, W.c.action, func.min(W.c.id).label("id"))
        .where(
            W.c.slack_user_id == slack_user_id,
            W.c.action.in_(list(actions)),
            W.c.created_at >= start,
            W.c.created_at < end,
        )
        .group_by(W.c.partner_id, W.c.action)
        .subquery("first_action")
    )
    rows = conn.execute(
        select(P.c.key, W.c.action, W.c.reason, W.c.depth, W.c.created_at)
        .select_from(W.join(first, and_(W.c.id == first.c.id)).join(P, P.c.id == W.c.partner_id))
        .order_by(W.c.created_at, W.c.id)
    )
    return [Done(*r) for r in rows]
