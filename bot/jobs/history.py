"""What `prm jobs history` shows besides runs: deliveries that need a person — ambiguous
(may or may not have gone out), failed (refused for good), undelivered (owed, retries ran
out of time) — and `resend`, the way to send one of them again by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from bot.slack.client import Clients
from bot.slack.delivery import Outcome
from bot.slack.outbox import send_owed
from bot.store import ledger
from bot.store.runs import reap

RESEND_RETRY_FOR = timedelta(hours=1)


def problems(engine: Engine, wall: datetime, limit: int) -> dict[str, list[dict]]:
    reap(engine, wall)  # a killed run's in-flight messages are ambiguous from now on
    with engine.connect() as conn:
        return {
            "ambiguous": ledger.ambiguous(conn, wall, limit),
            "undelivered": ledger.undelivered(conn, wall, limit),
            "failed": ledger.recent(conn, ledger.FAILED, limit),
            "undeliverable": ledger.recent(conn, ledger.UNDELIVERABLE, limit),
        }


@dataclass(frozen=True)
class Resent:
    key: str
    was: str | None  # None: no such row, or nothing to resend (sent, holdout, …)
    outcome: Outcome | None = None  # None: left for the job's next run (or no client)


def resend(
    engine: Engine, clients: Clients, keys: list[str], *, now: datetime, wall: datetime
) -> list[Resent]:
    """Owe these messages again, and send at once the ones whose message is kept."""
    done = []
    for key in keys:
        with engine.begin() as conn:
            released = ledger.release(conn, key, wall, wall + RESEND_RETRY_FOR)
        if released is None:
            done.append(Resent(key, None))
            continue
        sent = send_owed(engine, clients, [key], now=now, wall=wall) if released.stored else {}
        done.append(Resent(key, released.was, sent.get(key)))
    return done
