"""The delivery ledger: exactly-once bookkeeping for every message a job sends.

    claim (insert `pending`, unique key)  →  send  →  mark (`sent` / `failed` / `retry`)

A second run, a restart or another instance finds the key taken and sends nothing. Only
a `retry` row (Slack told us plainly that it did not deliver: rate limited past our
retries, a server error) can be claimed again. A row left `pending` means the process
died between claim and mark: the message may or may not have gone out, so it is listed
as ambiguous and never resent blindly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.models import Delivery

D = Delivery.__table__

PENDING, SENT, FAILED, RETRY = "pending", "sent", "failed", "retry"
UNDELIVERABLE, HOLDOUT = "undeliverable", "holdout"
AMBIGUOUS_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Entry:
    key: str
    job: str
    kind: str
    recipient: str
    user_id: int | None = None
    action: str | None = None
    target: str | None = None


@contextmanager
def _tx(bind: Engine | Connection) -> Iterator[Connection]:
    """One committed write: a transaction of its own on an engine; on a job run's
    autocommit connection, the statement itself (no pool checkout, no BEGIN/COMMIT)."""
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            yield conn
    else:
        yield bind


def claim(
    bind: Engine | Connection,
    entry: Entry,
    now: datetime,
    run_id: int | None,
    status: str = PENDING,
) -> int | None:
    """Take the key for this run; None when someone already has it (sent or sending).

    Committed at once, so the claim is visible to every other instance before anything
    is sent.
    """
    values = {
        "key": entry.key,
        "job": entry.job,
        "kind": entry.kind,
        "recipient": entry.recipient,
        "user_id": entry.user_id,
        "action": entry.action,
        "target": entry.target,
        "status": status,
        "attempts": 0 if status != PENDING else 1,
        "created_at": now,
        "run_id": run_id,
    }
    try:
        with _tx(bind) as conn:
            return int(conn.execute(insert(D).values(values).returning(D.c.id)).scalar_one())
    except IntegrityError:
        pass
    # Taken. Only a row marked `retry` may be claimed again, and only by one of us.
    with _tx(bind) as conn:
        row = conn.execute(
            update(D)
            .where(D.c.key == entry.key, D.c.status == RETRY)
            .values(status=PENDING, attempts=D.c.attempts + 1, run_id=run_id, error=None)
            .returning(D.c.id)
        ).first()
    return int(row[0]) if row else None


def mark(
    bind: Engine | Connection,
    delivery_id: int,
    status: str,
    *,
    now: datetime,
    error: str | None = None,
    channel_id: str | None = None,
    message_ts: str | None = None,
) -> None:
    with _tx(bind) as conn:
        conn.execute(
            update(D)
            .where(D.c.id == delivery_id)
            .values(
                status=status,
                error=error,
                channel_id=channel_id,
                message_ts=message_ts,
                sent_at=now if status == SENT else None,
            )
        )


def ambiguous(conn: Connection, now: datetime) -> list[dict]:
    """Rows claimed long ago and never marked: possibly sent, never resent."""
    rows = conn.execute(
        select(D.c.key, D.c.job, D.c.recipient, D.c.created_at, D.c.attempts)
        .where(and_(D.c.status == PENDING, D.c.created_at < now - AMBIGUOUS_AFTER))
        .order_by(D.c.created_at)
    )
    return [dict(r._mapping) for r in rows]


def taken(conn: Connection, job: str, since: datetime) -> dict[str, dict]:
    """This job's keys claimed since `since`, with their status and channel: a rerun skips
    them before rendering anything (the unique key still guards against a concurrent run)."""
    rows = conn.execute(
        select(D.c.key, D.c.status, D.c.channel_id).where(D.c.job == job, D.c.created_at >= since)
    )
    return {row.key: dict(row._mapping) for row in rows}
