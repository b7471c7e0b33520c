"""Create or migrate the schema with Alembic; safe to run any number of times.

Every command checks the schema first, so the check is a single query against
`alembic_version` compared with `HEAD_REVISION`; Alembic itself (slow to import) is loaded
only when a migration has to run. A test keeps `HEAD_REVISION` equal to the newest file in
`migrations/versions/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from bot.store.partitions import KEY_TABLE, is_partition_name

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
HEAD_REVISION = "0014"
MIGRATION_LOCK = 7_340_001  # pg_advisory_xact_lock key held while migrating


SLACK_SDK_TABLES = frozenset({"slack_installations", "slack_bots", "slack_oauth_states"})


def owned_by_us(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's `include_name`: the tables in SLACK_SDK_TABLES belong to slack-sdk's OAuth stores
    (migration 0004 creates them; tests/store/test_oauth_stores.py checks them against
    slack-sdk), so comparisons with our models must leave them alone."""
    table = name if type_ == "table" else parent_names.get("table_name")
    if table in SLACK_SDK_TABLES:
        return False
    # PostgreSQL's storage of `event` (bot/store/partitions.py): its partitions and the
    # key table are not in the models.
    return not (table is not None and (is_partition_name(table) or table == KEY_TABLE))


def bot_table_names() -> list[str]:
    """Every table of bot.store.tables, parents before children: what the bot itself reads
    and writes (the health check reads each one). slack-sdk's OAuth tables are not here."""
    from bot.store.tables import SQLModel

    return [table.name for table in SQLModel.metadata.sorted_tables]


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str | None:
    """The newest revision according to the migration files themselves."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _run(engine: Engine, step: str, revision: str) -> None:
    """Run an Alembic command in one transaction.

    SQLite alters a table by copying it, which foreign keys would refuse half-way; they are
    switched off for the migration (a pragma that only works outside a transaction) and on
    again after it.
    """
    from alembic import command

    cfg = _config()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                if not sqlite:
                    # Two processes starting on a new database migrate one after the other;
                    # the second finds the schema at head and does nothing.
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                cfg.attributes["connection"] = conn
                getattr(command, step)(cfg, revision)
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to `revision`; returns (before, after)."""
    before = current_revision(engine)
    _run(engine, "upgrade", revision)
    return before, current_revision(engine)


def downgrade(engine: Engine, revision: str) -> None:
    """Step back to `revision` (for tests and emergencies; data in dropped tables is lost)."""
    _run(engine, "downgrade", revision)


def ensure_schema(engine: Engine) -> None:
    """Bring the schema to head when it is behind, so every command works on a new file."""
    if current_revision(engine) != HEAD_REVISION:
        upgrade(engine)
