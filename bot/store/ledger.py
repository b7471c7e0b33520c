"""The delivery ledger: exactly-once bookkeeping for every message the bot sends.

    queued ──take──▶ pending ──send──▶ sent
       ▲                │
       └──── retry ◀────┤ Slack plainly did not get it (unreachable, 429, refused)
                        ├▶ ambiguous   the fate is unknown (timeout after sending, dropped
                        │              connection, internal_error, HTTP 5xx): never resent
                        │              automatically; `prm jobs resend KEY` by hand
                        └▶ failed      refused for good (user_not_found, …)

A job claims its key straight into `pending` (`claim`); a Slack request handler writes
`queued` rows in the same transaction as the change they announce (`enqueue`), so a crash
after the commit still leaves the message owed, and sends them right after. Whoever
moves a row out of `queued`/`retry` (`take`, a conditional update) is the only sender:
two instances, a rerun, a restart or a replayed request find the key taken and send
nothing. The retry worker (bot/jobs/outbox.py) takes due `retry` and `queued` rows.

A row left `pending` means the process died between claim and mark: the message may or
may not have gone out, so after `AMBIGUOUS_AFTER` it is listed as ambiguous too.

The row keeps the rendered message (`payload`) until it is sent, for retries and resends.
`attempted_at`, `next_attempt_at` and `give_up_at` are wall-clock instants (a retry waits
real time even when the bot's business clock is frozen by PRM_AS_OF); `created_at` is the
instant the message was written for, as jobs count it (caps, weeks, days).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from bot.store.engine import insert_ignore, table_of
from bot.store.handles import deliveries as D
from bot.store.tables import JobRun

QUEUED, PENDING, SENT, RETRY = "queued", "pending", "sent", "retry"
AMBIGUOUS, FAILED = "ambiguous", "failed"
UNDELIVERABLE, HOLDOUT = "undeliverable", "holdout"
TAKEABLE = (QUEUED, RETRY)
# Kinds of message, as the KPIs read them back (nudge_lift: who was nudged, who held out).
NUDGE = "nudge"
# The job that writes them: the job itself, the rules' history and nudge_lift all read
# this one name, so a rename cannot leave one of them counting nothing.
NUDGE_JOB = "next-actions"
OWED = text("delivery.status IN ('queued', 'retry')")
AMBIGUOUS_AFTER = timedelta(minutes=10)


_CLAIM_COLUMNS = (
    "key", "job", "kind", "recipient", "user_id", "action", "target", "status", "attempts",
    "created_at", "run_id", "payload", "ref", "attempted_at", "give_up_at",
)  # fmt: skip
_MARK_COLUMNS = ("status", "error", "channel_id", "message_ts", "sent_at", "next_attempt_at")
_INSERT = insert(D).values({c: bindparam(c) for c in _CLAIM_COLUMNS}).returning(D.c.id)
_MARK = update(D).where(D.c.id == bindparam("delivery_id"))
_MARK_PAYLOAD = _MARK.values({c: bindparam(c) for c in (*_MARK_COLUMNS, "payload")})
_MARK = _MARK.values({c: bindparam(c) for c in _MARK_COLUMNS})


@dataclass(frozen=True)
class Entry:
    key: str
    job: str
    kind: str
    recipient: str
    user_id: int | None = None
    action: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class PastNudge:
    """One next-action nudge as the ledger holds it."""

    at: datetime
    status: str  # sent, holdout, or pending (claimed, fate not yet marked)
    target: str | None


@dataclass(frozen=True)
class Owed:
    """A row someone has just taken: send its payload, then mark it."""

    id: int
    key: str
    kind: str
    recipient: str
    attempts: int
    payload: dict[str, Any] | None
    kept: bool = True  # the row holds the payload already (else `mark` writes it on failure)


@contextmanager
def _tx(bind: Engine | Connection) -> Iterator[Connection]:
    """One committed write: a transaction of its own on an engine; on a job run's
    autocommit connection, the statement itself (no pool checkout, no BEGIN/COMMIT)."""
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            yield conn
    else:
        yield bind


def _json(payload: dict[str, Any] | None) -> str | None:
    """A payload as stored: JSON, with a file's bytes in base64."""
    if payload is None:
        return None
    return json.dumps(payload, ensure_ascii=False, default=_base64)


def _base64(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot keep a {type(value).__name__} in a payload")


def _ref(payload: dict[str, Any] | None) -> str | None:
    return str(payload["ref"]) if payload and payload.get("ref") else None


def _row_values(entry: Entry) -> dict[str, Any]:
    return {
        "key": entry.key,
        "job": entry.job,
        "kind": entry.kind,
        "recipient": entry.recipient,
        "user_id": entry.user_id,
        "action": entry.action,
        "target": entry.target,
    }


def claim(
    bind: Engine | Connection,
    entry: Entry,
    now: datetime,
    run_id: int | None,
    status: str = PENDING,
    *,
    payload: dict[str, Any] | None = None,
    wall: datetime | None = None,
    give_up_at: datetime | None = None,
    keep_payload: bool = True,
) -> int | None:
    """Take the key for this run; None when someone already has it (sent or sending).

    Committed at once, so the claim is visible to every other instance before anything
    is sent. A `retry` row may be claimed again (with the message as rendered now).
    `keep_payload=False` writes the message only if the send fails (`mark`): a job's
    fan-out then writes no message on its happy path.
    """
    kept = payload if keep_payload else None
    values = {
        **_row_values(entry),
        "status": status,
        "attempts": 0 if status != PENDING else 1,
        "created_at": now,
        "run_id": run_id,
        "payload": _json(kept) if status == PENDING else None,
        "ref": _ref(payload),
        "attempted_at": wall if status == PENDING else None,
        "give_up_at": give_up_at,
    }
    try:
        with _tx(bind) as conn:
            return int(conn.execute(_INSERT, values).scalar_one())
    except IntegrityError:
        pass
    if status != PENDING:
        return None
    # Taken. Only a row marked `retry` may be claimed again, and only by one of us.
    with _tx(bind) as conn:
        row = conn.execute(
            update(D)
            .where(D.c.key == entry.key, D.c.status == RETRY)
            .values(
                status=PENDING,
                attempts=D.c.attempts + 1,
                run_id=run_id,
                error=None,
                payload=_json(kept),
                ref=_ref(payload),
                attempted_at=wall,
                next_attempt_at=None,
                give_up_at=give_up_at,
            )
            .returning(D.c.id)
        ).first()
    return int(row[0]) if row else None


def enqueue(
    conn: Connection,
    entry: Entry,
    payload: dict[str, Any],
    now: datetime,
    wall: datetime,
    give_up_at: datetime,
) -> bool:
    """Owe this message, inside the caller's transaction (with the change it announces).

    False when the key exists already: a replay or a second handler owes nothing more.
    """
    stmt = insert_ignore(conn, D, ["key"]).values(
        **_row_values(entry),
        status=QUEUED,
        attempts=0,
        created_at=now,
        payload=_json(payload),
        ref=_ref(payload),
        next_attempt_at=wall,
        give_up_at=give_up_at,
    )
    return bool(conn.execute(stmt).rowcount)


def rewrite_payload(conn: Connection, key: str, payload: dict[str, Any]) -> bool:
    """Replace the message of a row not in Slack (owed, in doubt or refused), so that when
    it goes out, or is resent by hand, it says what is true by then."""
    unsent = (*TAKEABLE, AMBIGUOUS, FAILED)
    return bool(
        conn.execute(
            update(D).where(D.c.key == key, D.c.status.in_(unsent)).values(payload=_json(payload))
        ).rowcount
    )


def rewrite_unsent_followers(conn: Connection, ref: str, payload: dict[str, Any]) -> int:
    """Give every unsent update of the message `ref` this newest version: whichever of
    them goes out last, the message ends up saying the same (updates may not arrive in
    the order they were made)."""
    return int(
        conn.execute(
            update(D).where(D.c.ref == ref, D.c.status.in_(TAKEABLE)).values(payload=_json(payload))
        ).rowcount
    )


def status_of(conn: Connection, key: str) -> str | None:
    return conn.execute(select(D.c.status).where(D.c.key == key)).scalar()


def statuses_of(conn: Connection, keys: Iterable[str]) -> dict[str, str]:
    """The status of each of these keys that has a row (coaching asks which alerts are
    still owed)."""
    wanted = list(keys)
    if not wanted:
        return {}
    rows = conn.execute(select(D.c.key, D.c.status).where(D.c.key.in_(wanted)))
    return {key: status for key, status in rows}


def take(bind: Engine | Connection, key: str, wall: datetime) -> Owed | None:
    """Move one queued or retry row to `pending`; None when someone else has it."""
    with _tx(bind) as conn:
        row = conn.execute(
            update(D)
            .where(D.c.key == key, D.c.status.in_(TAKEABLE))
            # No run's any more: a worker or a handler sends it, so only its age tells
            # whether a `pending` left behind is in doubt.
            .values(status=PENDING, attempts=D.c.attempts + 1, attempted_at=wall, run_id=None)
            .returning(D.c.id, D.c.key, D.c.kind, D.c.recipient, D.c.attempts, D.c.payload)
        ).first()
    if row is None:
        return None
    payload = json.loads(row.payload) if row.payload else None
    return Owed(row.id, row.key, row.kind, row.recipient, row.attempts, payload)


def due(conn: Connection, wall: datetime, limit: int = 100) -> list[str]:
    """Keys the retry worker may take now, oldest first."""
    rows = conn.execute(
        select(D.c.key)
        .where(
            OWED,  # spelled as the partial index's predicate, so the planner uses it
            D.c.next_attempt_at <= wall,
            or_(D.c.give_up_at.is_(None), D.c.give_up_at > wall),
        )
        .order_by(D.c.next_attempt_at)
        .limit(limit)
    )
    return [r.key for r in rows]


def followers(conn: Connection, key: str) -> list[str]:
    """Owed rows that wait for the message under `key` (its chart, its updates): once it
    is sent they can go at once."""
    rows = conn.execute(
        select(D.c.key).where(D.c.ref == key, D.c.status.in_(TAKEABLE)).order_by(D.c.id)
    )
    return [r.key for r in rows]


def mark(
    bind: Engine | Connection,
    delivery_id: int,
    status: str,
    *,
    now: datetime,
    error: str | None = None,
    channel_id: str | None = None,
    message_ts: str | None = None,
    next_attempt_at: datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record the outcome. A sent message's payload is dropped: nothing will resend it;
    one that did not go keeps it (`payload`, when the claim did not write it)."""
    values: dict[str, Any] = {
        "status": status,
        "error": error[:64] if error else None,
        "channel_id": channel_id,
        "message_ts": message_ts,
        "sent_at": now if status == SENT else None,
        "next_attempt_at": next_attempt_at if status == RETRY else None,
    }
    if status == SENT:
        values["payload"] = None
    elif payload is not None:
        values["payload"] = _json(payload)
    # A statement built once per shape: a fan-out marks thousands of rows, and building
    # (and cache-keying) the UPDATE each time cost more than the database did.
    statement = _MARK_PAYLOAD if "payload" in values else _MARK
    with _tx(bind) as conn:
        conn.execute(statement, {"delivery_id": delivery_id, **values})


def where_sent(conn: Connection, key: str) -> tuple[str, str] | None:
    """The (channel, ts) of a sent message: what a later update of it needs."""
    row = conn.execute(
        select(D.c.channel_id, D.c.message_ts).where(D.c.key == key, D.c.status == SENT)
    ).first()
    if row is None or not row.channel_id:
        return None
    return str(row.channel_id), str(row.message_ts or "")


def _in_doubt(wall: datetime) -> Any:
    """A `pending` row whose sender is gone: its job run is no longer running (see
    runs.reap), or, sent by a worker or a handler, its attempt is long past."""
    J = table_of(JobRun)
    dead_run = D.c.run_id.in_(select(J.c.id).where(J.c.status != "running"))
    stale = or_(
        D.c.attempted_at < wall - AMBIGUOUS_AFTER,
        and_(D.c.attempted_at.is_(None), D.c.created_at < wall - AMBIGUOUS_AFTER),
    )
    return and_(D.c.status == PENDING, or_(dead_run, and_(D.c.run_id.is_(None), stale)))


def ambiguous(conn: Connection, wall: datetime, limit: int | None = None) -> list[dict]:
    """Messages that may or may not have reached Slack: marked so, or claimed and never
    marked by a sender that is gone. Never resent automatically."""
    query = (
        select(D.c.key, D.c.job, D.c.recipient, D.c.created_at, D.c.attempts, D.c.error)
        .where(or_(D.c.status == AMBIGUOUS, _in_doubt(wall)))
        .order_by(D.c.created_at)
    )
    rows = conn.execute(query.limit(limit) if limit else query)
    return [dict(r._mapping) for r in rows]


def recent(conn: Connection, status: str, limit: int) -> list[dict]:
    """The latest rows in this status, newest first."""
    rows = conn.execute(
        select(D.c.key, D.c.recipient, D.c.error, D.c.created_at)
        .where(D.c.status == status)
        .order_by(D.c.created_at.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


def undelivered(conn: Connection, wall: datetime, limit: int) -> list[dict]:
    """Messages still owed whose retries ran out of time: resend by hand, or rerun."""
    rows = conn.execute(
        select(D.c.key, D.c.recipient, D.c.error, D.c.created_at, D.c.attempts)
        .where(D.c.status.in_(TAKEABLE), D.c.give_up_at <= wall)
        .order_by(D.c.created_at.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


@dataclass(frozen=True)
class Released:
    was: str  # the status it had
    stored: bool  # the message is kept: it can go now; else the job's next run writes it


def release(conn: Connection, key: str, wall: datetime, give_up_at: datetime) -> Released | None:
    """A person asks to send it again: an ambiguous, failed, stuck or given-up row is
    owed again, due now. None when there is no such row, it was sent (or never meant to
    be: holdout, undeliverable), or someone is sending it right now (a `pending` row not
    yet in doubt)."""
    row = conn.execute(select(D.c.status, D.c.payload).where(D.c.key == key)).first()
    if row is None or row.status in (SENT, HOLDOUT, UNDELIVERABLE):
        return None
    stored = row.payload is not None
    movable = or_(D.c.status.in_((AMBIGUOUS, FAILED, QUEUED, RETRY)), _in_doubt(wall))
    done = conn.execute(
        update(D)
        .where(D.c.key == key, D.c.status == row.status, movable)
        .values(
            status=RETRY,
            next_attempt_at=wall if stored else None,
            give_up_at=give_up_at,
            error=None,
        )
    ).rowcount
    return Released(str(row.status), stored) if done else None


def taken(conn: Connection, job: str, since: datetime) -> dict[str, dict]:
    """This job's keys claimed since `since`, with their status and channel: a rerun skips
    them before rendering anything (the unique key still guards against a concurrent run)."""
    rows = conn.execute(
        select(D.c.key, D.c.status, D.c.channel_id).where(D.c.job == job, D.c.created_at >= since)
    )
    return {row.key: dict(row._mapping) for row in rows}


def nudge_history(conn: Connection, before: datetime) -> dict[int, list[PastNudge]]:
    """Every rep's next-action nudges written before `before` (sent, held out, or being
    sent), by user id, newest first."""
    history: dict[int, list[PastNudge]] = {}
    for user_id, at, status, target in conn.execute(
        select(D.c.user_id, D.c.created_at, D.c.status, D.c.target)
        .where(
            D.c.job == NUDGE_JOB,
            D.c.kind == NUDGE,
            D.c.status.in_((SENT, HOLDOUT, PENDING)),
            D.c.created_at < before,
        )
        .order_by(D.c.user_id, D.c.created_at.desc())
    ):
        history.setdefault(user_id, []).append(PastNudge(at, status, target))
    return history
