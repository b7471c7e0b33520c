"""partner_first_event: first time each partner did each kind of thing, kept by triggers

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.engine

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_TRIGGER = """
CREATE TRIGGER trg_event_first_insert AFTER INSERT ON event
BEGIN
    INSERT INTO partner_first_event (partner_id, type, first_at)
    VALUES (NEW.partner_id, NEW.type, NEW.occurred_at)
    ON CONFLICT (partner_id, type) DO UPDATE SET first_at = excluded.first_at
    WHERE excluded.first_at < partner_first_event.first_at;
END
"""

# One set-based upsert per INSERT statement (a transition table), not one per row, so bulk
# imports stay fast; rows are taken in key order so concurrent imports lock alike.
PG_FUNCTION = """
CREATE FUNCTION prm_event_first_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO partner_first_event (partner_id, type, first_at)
    SELECT partner_id, type, min(occurred_at) FROM new_events
    GROUP BY partner_id, type
    ORDER BY partner_id, type
    ON CONFLICT (partner_id, type) DO UPDATE SET first_at = excluded.first_at
    WHERE excluded.first_at < partner_first_event.first_at;
    RETURN NULL;
END
$$
"""
PG_TRIGGER = """
CREATE TRIGGER trg_event_first_insert AFTER INSERT ON event
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT EXECUTE FUNCTION prm_event_first_insert()
"""

BACKFILL = """
INSERT INTO partner_first_event (partner_id, type, first_at)
SELECT partner_id, type, min(occurred_at) FROM event GROUP BY partner_id, type
"""


def upgrade() -> None:
    op.create_table(
        "partner_first_event",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("first_at", bot.store.engine.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_first_event_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", "type", name=op.f("pk_partner_first_event")),
    )
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS trg_event_first_insert"
        + (" ON event" if op.get_bind().dialect.name == "postgresql" else "")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS prm_event_first_insert()")
    op.drop_table("partner_first_event")
