"""Appending to the activity log (`event`) from the bot's own store modules.

Registrations and tracked-link downloads each write their event in the same transaction
as the change it records; both go through `append_event`, so the columns an event row
gets, and their spelling, are decided once. (Imported events arrive through the importer
and the integration API, which batch their own inserts.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Connection, insert

from bot.store.handles import events
from bot.store.partitions import ensure_months


def append_event(
    conn: Connection,
    *,
    event_id: str,
    type_: str,
    occurred_at: datetime,
    partner_id: int,
    user_id: int | None,
    object_key: str | None,
    amount: Decimal | None = None,
) -> None:
    """One event row; `event_id` is its idempotency key (unique: a second insert of the
    same id raises). The `partner_first_event` rollup is kept by the database's trigger;
    on PostgreSQL the event's month gets its partition first (bot/store/partitions.py)."""
    ensure_months(conn, [occurred_at.astimezone(UTC).date()])
    conn.execute(
        insert(events).values(
            event_id=event_id,
            occurred_at=occurred_at,
            type=type_,
            partner_id=partner_id,
            user_id=user_id,
            object_key=object_key,
            amount=amount,
        )
    )
