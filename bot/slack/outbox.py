"""The outbox: messages owed in the ledger go out now, and again until Slack takes them.

A Slack handler owes its messages (receipts, approval cards, decision notices, card
updates) in the same transaction as the change they announce, then sends them at once
(`send_now`). Whatever Slack plainly did not get (unreachable, rate limited, refused for
now) is retried by `RetryWorker`, a thread in `prm serve` and `prm scheduler` that takes
due rows every few seconds (`drain`) with the same conditional take, so two instances, or
a worker and a handler, never send one row twice. Ambiguous rows are never taken.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.core.timeutil import wall_clock
from bot.slack import recipients
from bot.slack.client import Clients
from bot.slack.delivery import AUTH_ERRORS, Outcome, Transport, attempt, backoff
from bot.store import ledger

log = logging.getLogger(__name__)


def _transport(engine: Engine, client: WebClient) -> Transport:
    def dm(user: str) -> str:
        return recipients.dm_channel(
            engine, client, user, recipients.known(engine, [user]).get(user)
        )

    return Transport(client, dm, engine)


def send_now(
    engine: Engine, client: WebClient, keys: Iterable[str], *, now: datetime, wall: datetime
) -> list[Outcome]:
    """Send these owed rows with this client (a handler's, for its own workspace)."""
    transport = _transport(engine, client)
    outcomes = []
    for key in keys:
        owed = ledger.take(engine, key, wall)
        if owed is not None:  # else someone else is sending it, or it went already
            outcomes.append(attempt(engine, transport, owed, now=now, wall=wall))
    return outcomes


def send_owed(
    engine: Engine, clients: Clients, keys: Iterable[str], *, now: datetime, wall: datetime
) -> dict[str, Outcome]:
    """Take and send these rows, each with its own workspace's client; a message that goes
    out is followed at once by what waits for it (its chart, its updates)."""
    outcomes: dict[str, Outcome] = {}
    queue = list(keys)
    while queue:
        key = queue.pop(0)
        owed = ledger.take(engine, key, wall)
        if owed is None:
            continue  # someone else is sending it, or it went already
        team = (owed.payload or {}).get("team")
        try:
            client = clients.for_team(team)
        except Exception as exc:  # the installation store unreadable: nothing was sent
            error = f"no_client:{type(exc).__name__}"
            ledger.mark(engine, owed.id, ledger.RETRY, now=now, error=error,
                        next_attempt_at=wall + backoff(owed.attempts, None))  # fmt: skip
            outcomes[key] = Outcome(ledger.RETRY, error)
            continue
        if client is None:
            ledger.mark(engine, owed.id, ledger.FAILED, now=now, error="no_installation")
            outcomes[key] = Outcome(ledger.FAILED, "no_installation")
            continue
        outcomes[key] = attempt(engine, _transport(engine, client), owed, now=now, wall=wall)
        if outcomes[key].error in AUTH_ERRORS:
            clients.forget(team)  # a revoked or rotated token: look it up again next time
        if outcomes[key].status == ledger.SENT:
            with engine.connect() as conn:
                queue += ledger.followers(conn, key)  # each message is sent once: no loop
    return outcomes


def drain(
    engine: Engine, clients: Clients, *, now: datetime, wall: datetime, limit: int = 100
) -> Counter[str]:
    """Send every row that is due; returns what happened, counted like a job run."""
    with engine.connect() as conn:
        keys = ledger.due(conn, wall, limit)
    sent = send_owed(engine, clients, keys, now=now, wall=wall)
    return Counter(outcome.counted for outcome in sent.values())


class RetryWorker:
    """Drains the outbox every `interval` seconds until stopped."""

    def __init__(
        self,
        engine: Engine,
        clients: Clients,
        clock: Callable[[], datetime],
        *,
        interval: float,
        wall: Callable[[], datetime] = wall_clock,
    ):
        self.engine, self.clients, self.clock, self.wall = engine, clients, clock, wall
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="prm-outbox", daemon=True)

    def start(self) -> RetryWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                counts = drain(self.engine, self.clients, now=self.clock(), wall=self.wall())
            except Exception as exc:  # the database away for a moment: try again later
                log.warning("outbox: %s", type(exc).__name__)
                continue
            if counts:
                log.info("outbox: %s", dict(sorted(counts.items())))
