"""`ledger.nudge_history`: the next-action nudges the rules look back on, written through
the ledger's own `claim` on a real database (SQLite and, with PRM_TEST_DATABASE_URL,
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.store import ledger
from bot.store.handles import reps
from bot.store.ledger import PastNudge
from tests.builders import Store

NOW = datetime(2026, 11, 15, tzinfo=UTC)


def test_history_is_the_nudge_jobs_nudges_before_now_newest_first(engine):
    Store(engine).partner("acme").user("a", "acme").user("b", "acme")
    with engine.connect() as conn:
        uid = {k: i for k, i in conn.execute(select(reps.c.key, reps.c.id))}

    def claim(key, user, when, status, *, job=ledger.NUDGE_JOB, kind=ledger.NUDGE, target="any"):
        entry = ledger.Entry(key, job, kind, user, uid[user], "rule", target)
        delivery_id = ledger.claim(engine, entry, when, None, status=status)
        assert delivery_id is not None
        return delivery_id

    day = timedelta(days=1)
    sent = claim("a1", "a", NOW - 3 * day, ledger.PENDING, target="lead.registered")
    claim("a2", "a", NOW - 2 * day, ledger.HOLDOUT, target=None)
    claim("a3", "a", NOW - day, ledger.UNDELIVERABLE)  # never meant to be sent
    claim("a4", "a", NOW, ledger.PENDING)  # not before now
    claim("b1", "b", NOW - day, ledger.PENDING)
    claim("b2", "b", NOW - 5 * day, ledger.PENDING, job="weekly-scorecards")
    claim("b3", "b", NOW - 6 * day, ledger.PENDING, kind="scorecard")
    ledger.mark(engine, sent, ledger.SENT, now=NOW)  # a1 went out
    with engine.connect() as conn:
        history = ledger.nudge_history(conn, NOW)
    assert history == {
        uid["a"]: [
            PastNudge(NOW - 2 * day, ledger.HOLDOUT, None),
            PastNudge(NOW - 3 * day, ledger.SENT, "lead.registered"),
        ],
        uid["b"]: [PastNudge(NOW - day, ledger.PENDING, "any")],
    }
