"""The `alert_episode` table's one owner: coaching-alert episodes, from the day a
condition is first seen until it clears, with their acknowledgement and snooze.

The coaching job opens and closes episodes; a CS owner's button press acknowledges or
snoozes one. Both used to write the table from their own modules; every write is here
now, so the partial unique index ("one open episode per condition and subject") has one
place that knows what its violation means.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.engine import table_of
from bot.store.handles import partners
from bot.store.tables import AlertEpisode

A = table_of(AlertEpisode)


def episode(conn: Connection, episode_id: int) -> dict[str, Any] | None:
    """One episode's row, or None when there is no such episode."""
    row = conn.execute(select(A).where(A.c.id == episode_id)).first()
    return dict(row._mapping) if row else None


def open_episodes(conn: Connection, cs_slack_id: str) -> list[dict[str, Any]]:
    """This CS owner's episodes that are not closed yet."""
    query = select(A).where(A.c.cs_slack_id == cs_slack_id, A.c.closed_at.is_(None))
    return [dict(r._mapping) for r in conn.execute(query)]


def close_episodes(conn: Connection, episode_ids: list[int], now: datetime) -> None:
    """Their conditions cleared: close them at `now`."""
    conn.execute(update(A).where(A.c.id.in_(episode_ids)).values(closed_at=now))


def open_episode(
    engine: Engine,
    *,
    condition: str,
    subject: str,
    cs_slack_id: str,
    partner_key: str,
    detail: str,
    now: datetime,
) -> int | None:
    """Open an episode (its own transaction) and return its id; None when one is open for
    this condition and subject already (another instance opened it a moment ago).

    The partner is named by key; an unknown key leaves `partner_id` empty.
    """
    partner_id = select(partners.c.id).where(partners.c.key == partner_key).scalar_subquery()
    try:
        with engine.begin() as conn:
            return int(
                conn.execute(
                    insert(A)
                    .values(
                        condition=condition,
                        subject=subject,
                        cs_slack_id=cs_slack_id,
                        partner_id=partner_id,
                        detail=detail,
                        opened_at=now,
                    )
                    .returning(A.c.id)
                ).scalar_one()
            )
    except IntegrityError:
        return None


def acknowledge(conn: Connection, episode_id: int, by: str, now: datetime) -> None:
    """Acknowledged by `by` at `now`; a running snooze ends with it."""
    conn.execute(
        update(A).where(A.c.id == episode_id).values(acked_at=now, acked_by=by, snoozed_until=None)
    )


def snooze(conn: Connection, episode_id: int, until: datetime) -> None:
    conn.execute(update(A).where(A.c.id == episode_id).values(snoozed_until=until))
