"""outbox: the ledger keeps each message until it is sent (retries, resend by hand);
registrations are keyed by their submission; job runs say which process runs them

- `delivery`: `payload`, `ref` (the message an update or a chart waits for),
  `attempted_at`, `next_attempt_at`, `give_up_at`, and indexes on (status,
  next_attempt_at) for the retry worker's poll and on `ref`.
- `registration`: `submission_key` (unique). The deal card's location moves to the
  ledger, where every message's channel and ts already live: each card posted so far
  becomes the `sent` row `registration:<id>:card`, then `card_channel` / `card_ts` go.
- `job_run`: `pid`, `heartbeat_at`.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.engine import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("payload", sa.Text(), nullable=True))
        batch.add_column(sa.Column("ref", sa.String(255), nullable=True))
        batch.add_column(sa.Column("attempted_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("next_attempt_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("give_up_at", UTCDateTime(), nullable=True))
    # Partial: only owed rows (and the few with a ref) are in them, so a fan-out's claims
    # and marks never touch them.
    owed = sa.text("status IN ('queued', 'retry')")
    op.create_index(
        "ix_delivery_status_next",
        "delivery",
        ["status", "next_attempt_at"],
        sqlite_where=owed,
        postgresql_where=owed,
    )
    with_ref = sa.text("ref IS NOT NULL")
    op.create_index(
        "ix_delivery_ref", "delivery", ["ref"], sqlite_where=with_ref, postgresql_where=with_ref
    )

    op.execute(
        """
        INSERT INTO delivery (key, job, kind, recipient, channel_id, user_id, status,
                              attempts, created_at, sent_at, message_ts)
        SELECT 'registration:' || CAST(r.id AS VARCHAR(20)) || '\\:card', 'registration',
               'card', COALESCE(p.manager_slack_id, ''), r.card_channel, r.user_id, 'sent',
               1, r.created_at, r.created_at, r.card_ts
        FROM registration r JOIN partner p ON p.id = r.partner_id
        WHERE r.card_ts IS NOT NULL AND r.card_channel IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.key =
                          'registration:' || CAST(r.id AS VARCHAR(20)) || '\\:card')
        """
    )
    with op.batch_alter_table("registration") as batch:
        batch.add_column(sa.Column("submission_key", sa.String(128), nullable=True))
        batch.create_unique_constraint("uq_registration_submission_key", ["submission_key"])
        batch.drop_column("card_channel")
        batch.drop_column("card_ts")

    with op.batch_alter_table("job_run") as batch:
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_run") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("pid")
    with op.batch_alter_table("registration") as batch:
        batch.add_column(sa.Column("card_channel", sa.String(32), nullable=True))
        batch.add_column(sa.Column("card_ts", sa.String(32), nullable=True))
        batch.drop_constraint("uq_registration_submission_key", type_="unique")
        batch.drop_column("submission_key")
    op.execute(
        """
        UPDATE registration SET
            card_channel = (SELECT d.channel_id FROM delivery d
                            WHERE d.key = 'registration:' || CAST(registration.id AS VARCHAR(20))
                                          || '\\:card' AND d.status = 'sent'),
            card_ts = (SELECT d.message_ts FROM delivery d
                       WHERE d.key = 'registration:' || CAST(registration.id AS VARCHAR(20))
                                     || '\\:card' AND d.status = 'sent')
        """
    )
    op.drop_index("ix_delivery_ref", table_name="delivery")
    op.drop_index("ix_delivery_status_next", table_name="delivery")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("give_up_at")
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempted_at")
        batch.drop_column("ref")
        batch.drop_column("payload")
