"""jobs: delivery ledger, job runs, alert episodes, Slack recipients; partner channel, tips off

Revision ID: 0005
Revises: 0004

The scheduled jobs (next actions, scorecards, coaching alerts) send each message once:
`delivery` is the ledger, `job_run` claims each scheduled occurrence, `alert_episode`
makes one alert per condition episode. `slack_recipient` remembers DM channels and time
zones. `partner.slack_channel_id` is where nudges for reps without Slack go;
`partner_user.tips_off_at` records "Stop these tips".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.engine import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(sa.Column("slack_channel_id", sa.String(32), nullable=True))
    with op.batch_alter_table("partner_user") as batch:
        batch.add_column(sa.Column("tips_off_at", UTCDateTime(), nullable=True))

    op.create_table(
        "slack_recipient",
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        sa.Column("dm_channel_id", sa.String(32), nullable=True),
        sa.Column("tz", sa.String(64), nullable=True),
        sa.Column("locale", sa.String(16), nullable=True),
        sa.Column("profile_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("slack_user_id", name="pk_slack_recipient"),
    )
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("occurrence", sa.String(64), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("host", sa.String(128), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_job_run"),
        sa.UniqueConstraint("job", "occurrence", name="uq_job_run_job_occurrence"),
    )
    op.create_index("ix_job_run_started", "job_run", ["started_at"])
    op.create_table(
        "delivery",
        sa.Column("id", BigId, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(128), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(64), nullable=True),
        sa.Column("target", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_delivery"),
        sa.UniqueConstraint("key", name="uq_delivery_key"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["partner_user.id"],
            name="fk_delivery_user_id_partner_user",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["job_run.id"], name="fk_delivery_run_id_job_run", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_delivery_user_created", "delivery", ["user_id", "created_at"])
    op.create_index("ix_delivery_status_created", "delivery", ["status", "created_at"])
    op.create_index("ix_delivery_run", "delivery", ["run_id"])
    op.create_table(
        "alert_episode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("cs_slack_id", sa.String(32), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("acked_at", UTCDateTime(), nullable=True),
        sa.Column("acked_by", sa.String(32), nullable=True),
        sa.Column("snoozed_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert_episode"),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name="fk_alert_episode_partner_id_partner",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "uq_alert_episode_open",
        "alert_episode",
        ["condition", "subject"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_index("ix_alert_episode_cs", "alert_episode", ["cs_slack_id", "closed_at"])


def downgrade() -> None:
    op.drop_table("alert_episode")
    op.drop_table("delivery")
    op.drop_table("job_run")
    op.drop_table("slack_recipient")
    with op.batch_alter_table("partner_user") as batch:
        batch.drop_column("tips_off_at")
    with op.batch_alter_table("partner") as batch:
        batch.drop_column("slack_channel_id")
