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

from bot.store.rollups import pg_month_delete_function

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


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
        op.execute(pg_month_delete_function())
        op.execute(KEY_FUNCTION)


def downgrade() -> None:
    pass
