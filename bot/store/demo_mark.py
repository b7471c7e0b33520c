"""The mark a database built by `prm demo` carries, so that no job messages it by mistake.

The demo is always a SQLite file; SQLite keeps a 32-bit `application_id` in the file
header for exactly this ("which program's file is this"), outside every table, so the
mark needs no migration and survives a copy of the file. Alembic and the schema never
touch it. Other databases are never demo databases.
"""

from __future__ import annotations

from sqlalchemy import Engine

DEMO_APPLICATION_ID = 0x50524D44  # "PRMD"


def mark_demo(engine: Engine) -> None:
    """Mark this SQLite database as the demo's."""
    if engine.dialect.name != "sqlite":
        raise ValueError("only a SQLite database can be marked as the demo's")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")


def is_demo(engine: Engine) -> bool:
    """True for a database `prm demo` built (its Slack ids are made up)."""
    if engine.dialect.name != "sqlite":
        return False
    with engine.connect() as conn:
        value = conn.exec_driver_sql("PRAGMA application_id").scalar()
    return int(value or 0) == DEMO_APPLICATION_ID
