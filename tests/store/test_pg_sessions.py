"""How the bot's PostgreSQL sessions are set up (bot.store.engine._postgresql_session).

No statement may be prepared: a plan made while a table was small stays for the whole
session, and the importer's batch insert, prepared after five batches, went on hashing all
of `event_key` for every later batch (an L import slowed from 25k to 5k events/s).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from bot.store.event_log import append_event
from tests.builders import Store


@pytest.fixture
def pg(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL sessions only")
    return engine


def test_statements_are_planned_afresh_however_often_they_run(pg: Engine) -> None:
    Store(pg).partner("acme").user("acme-a", "acme")
    with pg.connect() as conn:
        for n in range(8):  # psycopg would prepare on the fifth run
            append_event(
                conn,
                event_id=f"e{n}",
                type_="user.login",
                occurred_at=datetime(2026, 5, 1 + n, tzinfo=UTC),
                partner_id=1,
                user_id=1,
                object_key=None,
            )
            conn.execute(text("SELECT count(*) FROM event WHERE partner_id = :p"), {"p": 1})
        conn.commit()
        prepared = conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()
        jit = conn.execute(text("SHOW jit")).scalar()
    assert prepared == 0
    assert jit == "off"
