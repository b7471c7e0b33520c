"""Which database errors mean "temporarily unavailable" (bot.store.engine.unavailable), from real
failures, and which are bugs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.store.engine import normalize_url, unavailable


def _error(engine, sql: str) -> Exception:
    with pytest.raises(Exception) as info, engine.begin() as conn:
        conn.execute(text(sql))
    return info.value


def test_a_read_only_postgresql_is_unavailable(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("a read-only transaction (a hot standby, a failover) is PostgreSQL's")
    engine = create_engine(
        normalize_url(db_url), connect_args={"options": "-c default_transaction_read_only=on"}
    )
    try:
        error = _error(engine, "INSERT INTO asset (key) VALUES ('x')")
    finally:
        engine.dispose()
    assert "ReadOnlySqlTransaction" in type(getattr(error, "orig", error)).__name__
    assert unavailable(error)


def test_a_missing_file_and_a_closed_port_are_unavailable(tmp_path: Path):
    gone = create_engine(f"sqlite:///{tmp_path / 'no' / 'such.db'}")
    closed = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/x?connect_timeout=2")
    for engine in (gone, closed):
        assert unavailable(_error(engine, "SELECT 1"))
        engine.dispose()


def test_a_bad_request_is_not_unavailable(engine):
    assert not unavailable(_error(engine, "SELECT no_such_column FROM asset"))
    assert not unavailable(ValueError("a bug"))
