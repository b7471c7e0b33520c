"""Migrations: `prm db upgrade` creates the schema, is safe twice, and matches the models."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select, text
from sqlmodel import SQLModel

from bot.store.schema import (
    current_revision,
    downgrade,
    head_revision,
    owned_by_us,
    upgrade,
)
from bot.store.tables import Event, PartnerFirstEvent
from tests.builders import Store


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_schema_is_at_head_and_upgrade_is_idempotent(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    before, after = upgrade(engine)
    assert before == after == head_revision()


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_name": owned_by_us}),
            SQLModel.metadata,
        )
    if engine.dialect.name == "postgresql":
        # event_id's uniqueness is kept by event_key on a partitioned table (0011).
        diff = [d for d in diff if not _is_event_id_unique(d)]
    assert diff == []


def _is_event_id_unique(diff: tuple) -> bool:
    op, constraint = diff[0], diff[1]
    return (
        op == "add_constraint"
        and constraint.table.name == "event"
        and [c.name for c in constraint.columns] == ["event_id"]
    )


def test_kpi_indexes_exist(engine: Engine) -> None:
    names = {ix["name"] for ix in inspect(engine).get_indexes("event")}
    assert {"ix_event_partner_type_time", "ix_event_partner_time", "ix_event_type_time"} <= names


def test_cli_db_upgrade_twice_on_a_new_file(cli, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = cli("db", "upgrade", env={"PRM_DATABASE_URL": url})
    second = cli("db", "upgrade", env={"PRM_DATABASE_URL": url})
    assert first.exit_code == 0 and "empty -> " in first.output
    assert second.exit_code == 0 and "already at" in second.output


def test_head_constant_matches_the_migration_files() -> None:
    from bot.store.schema import HEAD_REVISION

    assert head_revision() == HEAD_REVISION


def _rollup(engine: Engine) -> set[tuple]:
    with engine.connect() as conn:
        return set(
            conn.execute(text("SELECT partner_id, type, first_at FROM partner_first_event")).all()
        )


def _grouped(engine: Engine) -> set[tuple]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                text(
                    "SELECT partner_id, type, min(occurred_at) FROM event GROUP BY partner_id, type"
                )
            ).all()
        )


def test_first_event_rollup_follows_every_insert(engine: Engine) -> None:
    store = Store(engine).partner("acme").partner("globex")
    store.user("a", "acme").user("g", "globex")
    store.event("user.login", "2026-05-01T00:00:00Z", "acme", "a")
    store.event("user.login", "2026-04-01T00:00:00+09:00", "acme", "a")  # earlier: replaces
    store.event("user.login", "2026-06-01T00:00:00Z", "acme", "a")  # later: ignored
    store.event("deal.won", "2026-02-01T00:00:00Z", "globex", "g", "d1")
    with engine.begin() as conn:  # a multi-row statement, as the importer sends
        conn.execute(
            insert(Event),
            [
                {
                    "event_id": f"bulk{i}",
                    "occurred_at": utc(2026, 1, i + 1),
                    "type": "deal.won",
                    "partner_id": 2,
                    "user_id": 2,
                    "object_key": "d",
                }
                for i in range(3)
            ],
        )
    assert _rollup(engine) == _grouped(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(PartnerFirstEvent)).all()
    firsts = {(r.partner_id, r.type): r.first_at for r in rows}
    assert firsts == {
        (1, "user.login"): utc(2026, 3, 31, 15),
        (2, "deal.won"): utc(2026, 1, 1),
    }


def test_upgrade_backfills_the_rollup_from_existing_events(engine: Engine) -> None:
    store = Store(engine).partner("acme")
    store.user("a", "acme")
    store.event("user.login", "2026-05-01T00:00:00Z", "acme", "a")
    store.event("lead.registered", "2026-03-01T00:00:00Z", "acme", "a", "l1")
    downgrade(engine, "0001")
    with engine.begin() as conn:  # events written while the rollup did not exist
        conn.execute(
            insert(Event).values(
                event_id="old",
                occurred_at=utc(2025, 1, 1),
                type="user.login",
                partner_id=1,
                user_id=1,
            )
        )
    upgrade(engine)
    assert _rollup(engine) == _grouped(engine)
    assert len(_rollup(engine)) == 2
    if engine.dialect.name == "sqlite":  # switched off for the table copies, and back on
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_upgrade_moves_each_posted_deal_card_into_the_ledger(engine: Engine) -> None:
    store = Store(engine).partner("acme", manager="UMGR")
    store.user("a", "acme", slack_user_id="UREP")
    downgrade(engine, "0006")
    with engine.begin() as conn:  # two registrations of 0006: one card posted, one not
        for reg_id, channel, ts in ((1, "D1", "171.01"), (2, None, None)):
            conn.execute(
                text(
                    "INSERT INTO registration (id, kind, partner_id, user_id, company, "
                    "company_norm, email_domain, status, event_id, created_at, card_channel, "
                    "card_ts) VALUES (:id, 'deal', 1, 1, 'Contoso', 'contoso', 'contoso.jp', "
                    "'pending', :event, :at, :channel, :ts)"
                ),
                {
                    "id": reg_id,
                    "event": f"e{reg_id}",
                    "at": utc(2026, 11, 1) if engine.dialect.name != "sqlite" else 0,
                    "channel": channel,
                    "ts": ts,
                },
            )
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT key, status, channel_id, message_ts FROM delivery")).all()
        columns = {c["name"] for c in inspect(conn).get_columns("registration")}
    assert [tuple(r) for r in rows] == [("registration:1:card", "sent", "D1", "171.01")]
    assert "card_ts" not in columns and "submission_key" in columns
    downgrade(engine, "0006")  # and back: the card's place returns to the registration
    with engine.connect() as conn:
        back = conn.execute(text("SELECT id, card_channel, card_ts FROM registration")).all()
    assert sorted(tuple(r) for r in back) == [(1, "D1", "171.01"), (2, None, None)]
    upgrade(engine)
