"""partner_month_activity: per partner, UTC month and type, kept by triggers on event;
partner_first_event now also follows deletes

See bot/store/rollups.py. PostgreSQL keeps it with one set-based statement per INSERT or
DELETE statement (transition tables), SQLite with row triggers. A delete recomputes the
months it touched from the log, since a first or last instant cannot be un-taken.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.engine import UTCDateTime
from bot.store.rollups import month_activity_select, month_sql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLE = "partner_month_activity"
UPSERT = f"""
ON CONFLICT (partner_id, month, type) DO UPDATE SET
    events = {TABLE}.events + excluded.events,
    first_at = {{least}}({TABLE}.first_at, excluded.first_at),
    last_at = {{greatest}}({TABLE}.last_at, excluded.last_at),
    amount = coalesce({TABLE}.amount + excluded.amount, {TABLE}.amount, excluded.amount)
"""
COLUMNS = f"INSERT INTO {TABLE} (partner_id, month, type, events, first_at, last_at, amount)"


def _sqlite() -> list[str]:
    month_new, month_old = (
        month_sql("sqlite", "NEW.occurred_at"),
        month_sql("sqlite", "OLD.occurred_at"),
    )
    upsert = UPSERT.format(least="min", greatest="max")
    recompute = month_activity_select(
        "sqlite",
        "event",
        f"WHERE partner_id = OLD.partner_id AND type = OLD.type "
        f"AND {month_sql('sqlite', 'occurred_at')} = {month_old}",
    )
    return [
        f"""CREATE TRIGGER trg_event_month_insert AFTER INSERT ON event
BEGIN
    {COLUMNS} VALUES (NEW.partner_id, {month_new}, NEW.type, 1, NEW.occurred_at,
    NEW.occurred_at, NEW.amount) {upsert};
END""",
        f"""CREATE TRIGGER trg_event_month_delete AFTER DELETE ON event
BEGIN
    DELETE FROM {TABLE} WHERE partner_id = OLD.partner_id AND type = OLD.type
        AND month = {month_old};
    {COLUMNS} {recompute};
END""",
        """CREATE TRIGGER trg_event_first_delete AFTER DELETE ON event
BEGIN
    DELETE FROM partner_first_event WHERE partner_id = OLD.partner_id AND type = OLD.type
        AND first_at = OLD.occurred_at;
    INSERT INTO partner_first_event (partner_id, type, first_at)
    SELECT partner_id, type, min(occurred_at) FROM event
    WHERE partner_id = OLD.partner_id AND type = OLD.type GROUP BY partner_id, type
    ON CONFLICT (partner_id, type) DO NOTHING;
END""",
    ]


def _postgresql() -> list[str]:
    upsert = UPSERT.format(least="least", greatest="greatest")
    cells = (
        f"SELECT DISTINCT partner_id, {month_sql('postgresql', 'occurred_at')} AS month, type "
        "FROM old_events"
    )
    recompute = (
        f"SELECT e.partner_id, c.month, e.type, count(*), min(e.occurred_at), "
        f"max(e.occurred_at), sum(e.amount) FROM ({cells}) c "
        "JOIN event e ON e.partner_id = c.partner_id "
        "AND e.type = c.type AND e.occurred_at >= c.month "
        "AND e.occurred_at < c.month + interval '1 month' GROUP BY 1, 2, 3"
    )
    return [
        f"""CREATE FUNCTION prm_event_month_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {COLUMNS} {month_activity_select("postgresql", "new_events")} ORDER BY 1, 2, 3 {upsert};
    RETURN NULL;
END
$$""",
        """CREATE TRIGGER trg_event_month_insert AFTER INSERT ON event
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT EXECUTE FUNCTION prm_event_month_insert()""",
        f"""CREATE FUNCTION prm_event_month_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {TABLE} t USING ({cells}) c
    WHERE t.partner_id = c.partner_id AND t.month = c.month AND t.type = c.type;
    {COLUMNS} {recompute};
    RETURN NULL;
END
$$""",
        """CREATE TRIGGER trg_event_month_delete AFTER DELETE ON event
REFERENCING OLD TABLE AS old_events
FOR EACH STATEMENT EXECUTE FUNCTION prm_event_month_delete()""",
        """CREATE FUNCTION prm_event_first_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM partner_first_event f
    USING (SELECT DISTINCT partner_id, type FROM old_events) c
    WHERE f.partner_id = c.partner_id AND f.type = c.type AND NOT EXISTS (
        SELECT 1 FROM event e
        WHERE e.partner_id = f.partner_id AND e.type = f.type AND e.occurred_at = f.first_at
    );
    INSERT INTO partner_first_event (partner_id, type, first_at)
    SELECT e.partner_id, e.type, min(e.occurred_at)
    FROM (SELECT DISTINCT partner_id, type FROM old_events) c
    JOIN event e ON e.partner_id = c.partner_id AND e.type = c.type
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (partner_id, type) DO NOTHING;
    RETURN NULL;
END
$$""",
        """CREATE TRIGGER trg_event_first_delete AFTER DELETE ON event
REFERENCING OLD TABLE AS old_events
FOR EACH STATEMENT EXECUTE FUNCTION prm_event_first_delete()""",
        # TRUNCATE fires no delete trigger: empty the keys and the rollups with the log
        # (DELETE, since a TRUNCATE … CASCADE may be emptying these very tables already).
        """CREATE FUNCTION prm_event_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM event_key;
    DELETE FROM partner_first_event;
    DELETE FROM partner_month_activity;
    RETURN NULL;
END
$$""",
        """CREATE TRIGGER trg_event_truncate AFTER TRUNCATE ON event
FOR EACH STATEMENT EXECUTE FUNCTION prm_event_truncate()""",
    ]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        TABLE,
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("month", UTCDateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("first_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.Numeric(precision=24, scale=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_month_activity_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "partner_id", "month", "type", name=op.f("pk_partner_month_activity")
        ),
    )
    if dialect == "postgresql":  # no event may commit between the backfill and the triggers
        op.execute("LOCK TABLE event IN SHARE MODE")
    op.execute(f"{COLUMNS} {month_activity_select(dialect, 'event')}")
    for statement in _postgresql() if dialect == "postgresql" else _sqlite():
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    names = ("trg_event_month_insert", "trg_event_month_delete", "trg_event_first_delete")
    for name in names + (("trg_event_truncate",) if postgresql else ()):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON event" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS prm_event_month_insert()")
        op.execute("DROP FUNCTION IF EXISTS prm_event_month_delete()")
        op.execute("DROP FUNCTION IF EXISTS prm_event_first_delete()")
        op.execute("DROP FUNCTION IF EXISTS prm_event_truncate()")
    op.drop_table(TABLE)
