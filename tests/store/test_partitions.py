"""PostgreSQL's monthly partitions of `event` (migration 0011, bot/store/partitions.py):
today's schema migrates with its rows, ids stay unique across partitions, and a month's
rows find their partition whoever wrote them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, Engine, create_engine, insert, text
from sqlalchemy.exc import IntegrityError

from bot.store.engine import normalize_url
from bot.store.event_log import append_event
from bot.store.importer import import_path
from bot.store.partitions import ensure_months, existing_months, forget_seen, maintain
from bot.store.schema import current_revision, downgrade, head_revision, upgrade
from bot.store.tables import Event, Partner
from tests.builders import Store


@pytest.fixture
def pg(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("partitioning is PostgreSQL's")
    forget_seen()
    return engine


def _bot_event(
    conn: Connection,
    event_id: str,
    at: datetime,
    type_: str = "user.login",
    obj: str | None = None,
) -> None:
    """An event the bot writes itself (partner 1, its rep 1)."""
    append_event(
        conn,
        event_id=event_id,
        type_=type_,
        occurred_at=at,
        partner_id=1,
        user_id=1,
        object_key=obj,
    )


def _bot_event_as(role_url: str, event_id: str, at: datetime) -> None:
    """The bot's event written under another role (one without CREATE, in these tests)."""
    limited = create_engine(normalize_url(role_url))
    try:
        with limited.begin() as conn:
            _bot_event(conn, event_id, at)
    finally:
        limited.dispose()


def _existing_months(engine: Engine) -> set[date]:
    with engine.connect() as conn:
        return existing_months(conn)


def _where(engine: Engine) -> dict[str, str]:
    """event_id -> the partition holding it."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT event_id, tableoid::regclass::text FROM event"))
        return dict(rows.all())


def _one(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def test_upgrade_partitions_todays_table_and_keeps_every_row(pg: Engine) -> None:
    downgrade(pg, "0010")
    assert _one(pg, "SELECT relkind FROM pg_class WHERE relname = 'event'") == "r"
    store = Store(pg).partner("acme")
    store.user("a", "acme")
    store.event("user.login", "2026-01-31T23:59:59Z", "acme", "a", event_id="jan")
    store.event("user.login", "2026-02-01T00:00:00Z", "acme", "a", event_id="feb")
    store.event("deal.won", "2025-07-04T12:00:00Z", "acme", "a", "D-1", event_id="jul")
    ids_before = _one(pg, "SELECT string_agg(id::text || event_id, ',' ORDER BY id) FROM event")

    upgrade(pg)

    assert current_revision(pg) == head_revision()
    assert _one(pg, "SELECT relkind FROM pg_class WHERE relname = 'event'") == "p"
    assert _where(pg) == {
        "jan": "event_y2026m01",
        "feb": "event_y2026m02",
        "jul": "event_y2025m07",
    }
    assert _one(pg, "SELECT string_agg(id::text || event_id, ',' ORDER BY id) FROM event") == (
        ids_before
    )
    assert _one(pg, "SELECT count(*) FROM event_key") == 3
    # The id sequence goes on where it was.
    store.event("user.login", "2026-02-02T00:00:00Z", "acme", "a", event_id="next")
    assert _one(pg, "SELECT max(id) FROM event") == _one(
        pg, "SELECT id FROM event WHERE event_id = 'next'"
    )
    # And back: downgrading restores the plain table with its unique index.
    downgrade(pg, "0010")
    assert _one(pg, "SELECT count(*) FROM event") == 4
    assert _one(pg, "SELECT to_regclass('event_key')") is None
    upgrade(pg)
    assert len(_where(pg)) == 4


def test_an_event_id_is_unique_across_partitions(pg: Engine) -> None:
    store = Store(pg).partner("acme")
    store.user("a", "acme")
    with pg.begin() as conn:
        _bot_event(conn, "x1", datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(IntegrityError), pg.begin() as conn:  # another month, the same id
        _bot_event(conn, "x1", datetime(2026, 9, 1, tzinfo=UTC))
    assert _where(pg) == {"x1": "event_y2026m03"}
    # Deleting the events (or their partner) frees their ids, as a unique index would.
    with pg.begin() as conn:
        conn.execute(text("DELETE FROM event"))
    store.event("user.login", "2026-09-01T00:00:00Z", "acme", "a", event_id="x1")
    with pg.begin() as conn:
        conn.execute(Partner.__table__.delete())  # type: ignore[attr-defined]
    assert _one(pg, "SELECT count(*) FROM event_key") == 0


def test_a_month_without_partition_lands_in_default_and_moves_out(pg: Engine) -> None:
    store = Store(pg).partner("acme")
    store.user("a", "acme")
    store.event("user.login", "2031-05-02T00:00:00Z", "acme", "a", event_id="far")
    assert _where(pg) == {"far": "event_default"}

    with pg.begin() as conn:
        made = maintain(conn, date(2031, 4, 15))

    assert date(2031, 5, 1) in made and date(2031, 4, 1) in made
    assert _where(pg) == {"far": "event_y2031m05"}
    with pg.connect() as conn:
        assert {date(2031, m, 1) for m in (4, 5, 6, 7)} <= existing_months(conn)
    assert _one(pg, "SELECT count(*) FROM event_default") == 0
    # Its key was not disturbed by the move.
    with pytest.raises(IntegrityError), pg.begin() as conn:
        conn.execute(
            insert(Event).values(
                event_id="far",
                occurred_at=datetime(2031, 5, 3, tzinfo=UTC),
                type="user.login",
                partner_id=1,
            )
        )


def test_the_importer_and_the_bot_make_the_months_they_write(pg: Engine, tmp_path) -> None:
    Store(pg).partner("acme").user("acme-a", "acme")
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,occurred_at,type,partner_key,user_key,object_key,amount\n"
        "i1,2019-01-05T00:00:00Z,user.login,acme,acme-a,,\n"
        "i2,2019-03-05T00:00:00+09:00,user.login,acme,acme-a,,\n"
        "i1,2019-01-05T00:00:00Z,user.login,acme,acme-a,,\n",
        encoding="utf-8",
    )
    report = import_path(pg, "events", path, ZoneInfo("UTC"))
    assert (report.inserted, report.duplicates) == (2, 1), report
    assert _where(pg) == {"i1": "event_y2019m01", "i2": "event_y2019m03"}
    # Again: all duplicates, nothing new stored.
    again = import_path(pg, "events", path, ZoneInfo("UTC"))
    assert (again.inserted, again.duplicates) == (0, 3)
    with pg.begin() as conn:
        assert ensure_months(conn, [date(2019, 1, 9)]) == []  # known: no query
        at = datetime(2018, 2, 28, 23, 0, tzinfo=UTC)
        _bot_event(conn, "b1", at, "content.downloaded", "kit")
    assert _where(pg)["b1"] == "event_y2018m02"


def test_a_role_that_may_not_create_tables_writes_into_default(pg: Engine, caplog) -> None:
    """A locked-down bot (no CREATE on the schema) still stores its events: in the default
    partition, with a warning, until `prm db upgrade` makes the month."""
    from tests.web.test_database_down import _limited_role

    Store(pg).partner("acme").user("a", "acme")
    with _limited_role(pg.url.render_as_string(hide_password=False)) as (role_url, _name):
        _bot_event_as(role_url, "locked-1", datetime(2017, 6, 1, tzinfo=UTC))
    assert _where(pg) == {"locked-1": "event_default"}
    assert "not made" in caplog.text and "2017-06" in caplog.text
    with pg.begin() as conn:
        assert date(2017, 6, 1) in maintain(conn, date(2026, 1, 1))
    assert _where(pg) == {"locked-1": "event_y2017m06"}


def test_truncating_the_log_empties_its_keys_and_rollups(pg: Engine) -> None:
    Store(pg).partner("acme").user("a", "acme").event(
        "user.login", "2026-03-01T00:00:00Z", "acme", "a", event_id="t1"
    )
    with pg.begin() as conn:
        conn.execute(text("TRUNCATE event"))
    counts = _one(
        pg,
        "SELECT (SELECT count(*) FROM event_key) + (SELECT count(*) FROM partner_first_event)"
        " + (SELECT count(*) FROM partner_month_activity)",
    )
    assert counts == 0
    Store(pg).event("user.login", "2026-03-01T00:00:00Z", "acme", "a", event_id="t1")


def test_a_partition_rolled_back_with_its_batch_is_made_again(pg: Engine) -> None:
    """The month is not remembered as made until the catalog shows it committed: a refused
    batch takes its new partition with it, and the next write makes it again instead of
    sending the month to the default partition for the rest of the process."""
    Store(pg).partner("acme").user("acme-a", "acme")
    with pg.connect() as conn, conn.begin() as tx:
        assert ensure_months(conn, [date(2017, 4, 2)]) == [date(2017, 4, 1)]
        tx.rollback()
    assert date(2017, 4, 1) not in _existing_months(pg)
    with pg.begin() as conn:
        _bot_event(conn, "r1", datetime(2017, 4, 9, tzinfo=UTC))
    assert _where(pg) == {"r1": "event_y2017m04"}


def test_db_upgrade_fails_when_it_may_not_make_the_partitions(pg: Engine, cli) -> None:
    """Run monthly from cron under a role without CREATE, `prm db upgrade` must not pass in
    silence: the months stay unmade and their events in the default partition."""
    from tests.web.test_database_down import _limited_role

    with pg.begin() as conn:  # a month no other test makes, whatever today is
        conn.execute(text("DROP TABLE IF EXISTS event_y1999m07"))
    forget_seen()
    Store(pg).partner("acme").user("a", "acme")
    with _limited_role(pg.url.render_as_string(hide_password=False)) as (role_url, _name):
        _bot_event_as(role_url, "cron-1", datetime(1999, 7, 4, tzinfo=UTC))
        refused = cli("db", "upgrade", env={"PRM_DATABASE_URL": role_url})
    assert refused.exit_code == 1, refused.output
    assert "event partitions not made:" in refused.output
    assert "1999-07" in refused.output and "event_default" in refused.output
    assert _where(pg) == {"cron-1": "event_default"}
    forget_seen()
    owner = cli("db", "upgrade")
    assert owner.exit_code == 0, owner.output
    assert "1999-07" in owner.output
    assert _where(pg) == {"cron-1": "event_y1999m07"}


def test_a_row_another_writer_is_storing_at_that_moment_is_a_duplicate(pg: Engine) -> None:
    """Row by row (after a refused batch), an event_id that another transaction is storing
    right then is not visible to the insert's check, so the key refuses it once the other
    commits: that row is a duplicate, not a refusal."""
    import threading
    import time

    from bot.store.importer.load import EventWriter

    Store(pg).partner("acme").user("a", "acme")
    at = datetime(2026, 3, 1, tzinfo=UTC)
    record = {
        "event_id": "race-1",
        "occurred_at": at,
        "type": "user.login",
        "partner_id": 1,
        "user_id": 1,
        "object_key": None,
        "amount": None,
    }
    with pg.begin() as conn:
        ensure_months(conn, [at.date()])
    done = {}
    with pg.connect() as holder:
        holder.begin()
        _bot_event(holder, "race-1", at)  # stored, not yet committed
        holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar()

        def write() -> None:
            with pg.connect() as conn:
                done["written"] = EventWriter(conn)._row_by_row([(2, record)])

        writer = threading.Thread(target=write)
        writer.start()
        blocked = (
            f"SELECT count(*) FROM pg_stat_activity WHERE {holder_pid} = ANY(pg_blocking_pids(pid))"
        )
        deadline = time.monotonic() + 10
        while not _one(pg, blocked) and time.monotonic() < deadline:
            time.sleep(0.01)  # until the writer waits on the holder's key
        assert _one(pg, blocked), "the writer never waited on the uncommitted event"
        holder.commit()
        writer.join(10)
    written = done["written"]
    assert (written.inserted, written.duplicates, written.refused) == (0, 1, [])
