"""event partitioned by month on PostgreSQL; event_id's uniqueness moves to event_key

See bot/store/partitions.py for why and how partitions are made. The table is rebuilt:
rows are copied in one statement into the partitioned table (before its secondary indexes
exist, which is faster than indexing row by row), ids and the id sequence are kept.
SQLite is left as it is.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from bot.store.partitions import (
    DEFAULT_PARTITION,
    bound_literal,
    forget_seen,
    months_in,
    next_month,
    partition_name,
)

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_event_partner_time": "(partner_id, occurred_at)",
    "ix_event_partner_type_time": "(partner_id, type, occurred_at, object_key)",
    "ix_event_type_time": "(type, occurred_at, partner_id, user_id, object_key)",
}
COLUMNS = """
    id bigint NOT NULL DEFAULT nextval('event_id_seq'),
    event_id varchar(128) NOT NULL,
    occurred_at timestamptz NOT NULL,
    type varchar(32) NOT NULL,
    partner_id integer NOT NULL,
    user_id integer,
    object_key varchar(128),
    amount numeric(20, 4),
    CONSTRAINT fk_event_partner_id_partner FOREIGN KEY (partner_id)
        REFERENCES partner (id) ON DELETE CASCADE,
    CONSTRAINT fk_event_user_id_partner_user FOREIGN KEY (user_id)
        REFERENCES partner_user (id) ON DELETE CASCADE
"""
FIRST_EVENT_TRIGGER = """
CREATE TRIGGER trg_event_first_insert AFTER INSERT ON event
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT EXECUTE FUNCTION prm_event_first_insert()
"""
# The key of every stored event, and where the event is (its partner and instant): a stored
# event is found by id through the (partner, time) index of one partition, so partitions
# need no index of their own on `event_id`. No foreign keys (each would cost a check per
# imported row): the delete trigger below removes the keys of deleted events, including
# those a partner's or a rep's deletion cascades to.
KEY_TABLE = """
CREATE TABLE event_key (
    event_id varchar(128) NOT NULL CONSTRAINT pk_event_key PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    partner_id integer NOT NULL
)
"""
KEY_FUNCTION = """
CREATE FUNCTION prm_event_key_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_key (event_id, occurred_at, partner_id)
    SELECT event_id, occurred_at, partner_id FROM new_events;
    RETURN NULL;
END
$$
"""
KEY_TRIGGER = """
CREATE TRIGGER trg_event_key_insert AFTER INSERT ON event
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT EXECUTE FUNCTION prm_event_key_insert()
"""
# Deleting events (an operator's cleanup, a partner's or rep's cascade) frees their ids as
# a unique index would. (TRUNCATE has its own trigger, with the rollups, in 0012.)
KEY_DELETE_FUNCTION = """
CREATE FUNCTION prm_event_key_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM event_key k USING old_events o WHERE k.event_id = o.event_id;
    RETURN NULL;
END
$$
"""
KEY_DELETE_TRIGGER = """
CREATE TRIGGER trg_event_key_delete AFTER DELETE ON event
REFERENCING OLD TABLE AS old_events
FOR EACH STATEMENT EXECUTE FUNCTION prm_event_key_delete()
"""


def _months(table: str) -> list:
    rows = op.get_bind().execute(text(months_in(table) + " ORDER BY 1"))
    return [month for (month,) in rows]


def _rename_old(suffix: str) -> None:
    op.execute("ALTER SEQUENCE event_id_seq OWNED BY NONE")
    op.execute(f"ALTER TABLE event RENAME TO event_{suffix}")
    op.execute(f"ALTER TABLE event_{suffix} RENAME CONSTRAINT pk_event TO pk_event_{suffix}")
    for name in INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_{suffix}")
    op.execute(f"DROP TRIGGER IF EXISTS trg_event_first_insert ON event_{suffix}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rename_old("plain")
    op.execute("ALTER TABLE event_plain RENAME CONSTRAINT uq_event_event_id TO uq_event_plain")
    op.execute(
        f"CREATE TABLE event ({COLUMNS}, CONSTRAINT pk_event PRIMARY KEY (id, occurred_at)) "
        "PARTITION BY RANGE (occurred_at)"
    )
    op.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF event DEFAULT")
    for month in _months("event_plain"):
        op.execute(
            f"CREATE TABLE {partition_name(month)} PARTITION OF event "
            f"FOR VALUES FROM ({bound_literal(month)}) TO ({bound_literal(next_month(month))})"
        )
    op.execute("INSERT INTO event SELECT * FROM event_plain")
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON event {columns}")
    op.execute(KEY_TABLE)
    op.execute(
        "INSERT INTO event_key (event_id, occurred_at, partner_id) "
        "SELECT event_id, occurred_at, partner_id FROM event_plain"
    )
    op.execute("DROP TABLE event_plain")
    op.execute("ALTER SEQUENCE event_id_seq OWNED BY event.id")
    op.execute(KEY_FUNCTION)
    op.execute(KEY_TRIGGER)
    op.execute(KEY_DELETE_FUNCTION)
    op.execute(KEY_DELETE_TRIGGER)
    op.execute(FIRST_EVENT_TRIGGER)
    forget_seen()


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rename_old("parted")
    op.execute("DROP TRIGGER IF EXISTS trg_event_key_insert ON event_parted")
    op.execute("DROP TRIGGER IF EXISTS trg_event_key_delete ON event_parted")
    op.execute(f"CREATE TABLE event ({COLUMNS}, CONSTRAINT pk_event PRIMARY KEY (id))")
    op.execute("INSERT INTO event SELECT * FROM event_parted")
    op.execute("ALTER TABLE event ADD CONSTRAINT uq_event_event_id UNIQUE (event_id)")
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON event {columns}")
    op.execute("DROP TABLE event_parted")  # and its partitions
    op.execute("DROP TABLE event_key")
    op.execute("DROP FUNCTION prm_event_key_insert()")
    op.execute("DROP FUNCTION prm_event_key_delete()")
    op.execute("ALTER SEQUENCE event_id_seq OWNED BY event.id")
    op.execute(FIRST_EVENT_TRIGGER)
    forget_seen()
