"""The activity rollups follow every write to the log, and `prm db rebuild-rollups`
recomputes them (reporting what differed, which is nothing unless someone tampered)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, delete, text

from bot.store.event_log import append_event
from bot.store.importer import import_path
from bot.store.rollups import FIRST_EVENT_SELECT, month_activity_select, rebuild
from bot.store.tables import Event, Partner, PartnerUser
from tests.builders import Store

HEADER = "event_id,occurred_at,type,partner_key,user_key,object_key,amount\n"


def _stored(engine: Engine) -> set[tuple]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                text(
                    "SELECT partner_id, month, type, events, first_at, last_at, amount "
                    "FROM partner_month_activity"
                )
            ).all()
        )


def _recomputed(engine: Engine) -> set[tuple]:
    with engine.connect() as conn:
        return set(conn.execute(text(month_activity_select(engine.dialect.name, "event"))).all())


def _firsts(engine: Engine) -> tuple[set[tuple], set[tuple]]:
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT partner_id, type, first_at FROM partner_first_event"))
        return set(stored.all()), set(conn.execute(text(FIRST_EVENT_SELECT)).all())


def _agree(engine: Engine) -> None:
    assert _stored(engine) == _recomputed(engine)
    stored, recomputed = _firsts(engine)
    assert stored == recomputed
    with engine.begin() as conn:
        assert rebuild(conn).changed == 0


def test_month_rollup_follows_inserts_from_every_writer_and_deletes(engine, tmp_path) -> None:
    store = Store(engine).partner("acme").partner("globex")
    store.user("acme-a", "acme").user("acme-b", "acme").user("globex-a", "globex")
    # Month edges, to the microsecond, and an instant before 1970 (floored, not truncated).
    store.event("user.login", "2026-01-31T23:59:59.999999Z", "acme", "acme-a")
    store.event("user.login", "2026-02-01T00:00:00Z", "acme", "acme-a")
    store.event("user.login", "1969-12-31T23:59:59.5Z", "globex", "globex-a")
    # Amounts are summed; a month whose events carry none has none.
    store.event(
        "deal.won", "2026-02-03T00:00:00Z", "acme", "acme-a", "D-1", amount=Decimal("100.25")
    )
    store.event("deal.won", "2026-02-04T00:00:00Z", "acme", "acme-a", "D-2", amount=Decimal("0.5"))
    store.event("deal.won", "2026-02-05T00:00:00Z", "acme", "acme-a", "D-3")
    _agree(engine)
    with engine.connect() as conn:
        won = conn.execute(
            text("SELECT events, amount FROM partner_month_activity WHERE type = 'deal.won'")
        ).one()
    assert (won[0], Decimal(str(won[1]))) == (3, Decimal("100.75"))
    # The importer, in batches of two, with duplicates of what is stored.
    rows = [
        f"i{n},2026-0{1 + n % 3}-1{n % 9}T0{n % 7}:00:00Z,lead.registered,acme,acme-b,L{n},"
        for n in range(9)
    ]
    path = tmp_path / "events.csv"
    path.write_text(HEADER + "\n".join(rows + rows[:3]) + "\n", encoding="utf-8")
    report = import_path(engine, "events", path, ZoneInfo("UTC"), batch_size=2)
    assert (report.inserted, report.duplicates) == (9, 3)
    _agree(engine)
    # The bot's own write.
    with engine.begin() as conn:
        append_event(
            conn,
            event_id="bot-1",
            type_="content.downloaded",
            occurred_at=datetime(2026, 3, 31, 23, 30, tzinfo=UTC),
            partner_id=1,
            user_id=1,
            object_key="kit",
        )
    _agree(engine)
    with engine.connect() as conn:
        count, first, last = conn.execute(
            text(
                "SELECT events, first_at, last_at FROM partner_month_activity "
                "WHERE partner_id = 1 AND type = 'lead.registered' ORDER BY month LIMIT 1"
            )
        ).one()
    assert (count, first < last) == (3, True)
    # Deletes: one event (its month is recomputed), a rep's (cascade), a partner's.
    with engine.begin() as conn:
        conn.execute(delete(Event).where(Event.event_id == "i3"))  # type: ignore[arg-type]
    _agree(engine)
    with engine.begin() as conn:
        conn.execute(delete(PartnerUser).where(PartnerUser.key == "acme-b"))  # type: ignore[arg-type]
    _agree(engine)
    with engine.begin() as conn:
        conn.execute(delete(Partner).where(Partner.key == "globex"))  # type: ignore[arg-type]
    _agree(engine)
    assert {row[2] for row in _stored(engine)} == {"user.login", "content.downloaded", "deal.won"}


def test_rebuild_rollups_repairs_and_says_what_differed(engine, cli, db_url) -> None:
    store = Store(engine).partner("acme")
    store.user("a", "acme")
    store.events("user.login", ["2026-04-01T00:00:00Z", "2026-05-02T00:00:00Z"], "acme", "a")
    with engine.begin() as conn:  # as a restore without triggers would leave them
        conn.execute(text("DELETE FROM partner_month_activity"))
        conn.execute(text("UPDATE partner_first_event SET first_at = first_at"))
    result = cli("db", "rebuild-rollups", env={"PRM_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert "1 first-event rows, 2 partner-month rows; 2 rows differed" in result.output
    assert _stored(engine) == _recomputed(engine)
    again = cli("db", "rebuild-rollups", env={"PRM_DATABASE_URL": db_url})
    assert "0 rows differed" in again.output


def test_a_delete_recomputes_its_utc_month_whatever_the_session_time_zone(engine) -> None:
    """A month's end is the next UTC month's start: under New York a March ended on 28 March
    23:00 UTC (its last events dropped from the rollup), under London an October took in the
    first hour of November (counted twice)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's row trigger compares the month expression itself")
    store = Store(engine).partner("acme").user("acme-a", "acme")
    for at in (
        "2026-03-10T00:00:00Z",
        "2026-03-15T00:00:00Z",
        "2026-03-30T00:00:00Z",
        "2026-10-10T00:00:00Z",
        "2026-10-15T00:00:00Z",
        "2026-11-01T00:30:00Z",
    ):
        store.event("deal.won", at, "acme", "acme-a", f"D-{at[:10]}", amount=Decimal("1"))
    for zone, day in (("America/New_York", "2026-03-15"), ("Europe/London", "2026-10-15")):
        with engine.begin() as conn:
            conn.execute(text(f"SET LOCAL TimeZone = '{zone}'"))
            conn.execute(delete(Event).where(Event.object_key == f"D-{day}"))
        _agree(engine)
    with engine.connect() as conn:
        months = conn.execute(
            text("SELECT events FROM partner_month_activity ORDER BY month")
        ).scalars()
        assert list(months) == [2, 1, 1]  # March, October, November
