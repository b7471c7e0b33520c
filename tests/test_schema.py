"""Migrations: `prm db upgrade` creates the schema, is safe twice, and matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from bot.schema import current_revision, head_revision, upgrade


def test_schema_is_at_head_and_upgrade_is_idempotent(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    before, after = upgrade(engine)
    assert before == after == head_revision()


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


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
    from bot.schema import HEAD_REVISION

    assert head_revision() == HEAD_REVISION
