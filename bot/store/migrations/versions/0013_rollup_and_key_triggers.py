"""prm_event_month_delete(): a recomputed month ends at the next UTC month's start, whatever
the session's TimeZone; event_key takes ids in order (PostgreSQL only)

The first version (0012) bounded the month with `month + interval '1 month'`, which
PostgreSQL steps in the session's TimeZone: under America/New_York a delete in March
rebuilt March without its last days, under Europe/London October's row took in an hour of
November. Deployments whose sessions ran in UTC (the default on most servers) are
unaffected; `prm db rebuild-rollups` repairs any other (it reports what it changed).

The recompute now also overwrites a row that a concurrent delete in the same cell wrote
first (it failed on the unique key before), and `event_key` takes new ids in id order, so
two writers storing overlapping ids wait for each other instead of deadlocking.

Downgrade keeps the corrected functions: 0012's with the bug restored would only lose data.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


# Written out in full, not built from bot.store.rollups: a migration is a snapshot.
MONTH = "(date_trunc('month', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
CELLS = f"SELECT DISTINCT partner_id, {MONTH} AS month, type FROM old_events"
MONTH_DELETE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION prm_event_month_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM partner_month_activity t USING ({CELLS}) c
    WHERE t.partner_id = c.partner_id AND t.month = c.month AND t.type = c.type;
    INSERT INTO partner_month_activity (partner_id, month, type, events, first_at, last_at, amount)
    SELECT e.partner_id, c.month, e.type, count(*), min(e.occurred_at), max(e.occurred_at),
        sum(e.amount)
    FROM ({CELLS}) c JOIN event e ON e.partner_id = c.partner_id AND e.type = c.type
        AND e.occurred_at >= c.month
        AND e.occurred_at < ((c.month AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'
    GROUP BY 1, 2, 3
    ON CONFLICT (partner_id, month, type) DO UPDATE SET events = excluded.events,
        first_at = excluded.first_at, last_at = excluded.last_at, amount = excluded.amount;
    RETURN NULL;
END
$$
"""
KEY_FUNCTION = """
CREATE OR REPLACE FUNCTION prm_event_key_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_key (event_id, occurred_at, partner_id)
    SELECT event_id, occurred_at, partner_id FROM new_events ORDER BY event_id;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(MONTH_DELETE_FUNCTION)
        op.execute(KEY_FUNCTION)


def downgrade() -> None:
    pass
