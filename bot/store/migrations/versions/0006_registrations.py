"""registrations: leads and deals registered from Slack, with approval and expiry

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.engine import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("company", sa.String(256), nullable=False),
        sa.Column("company_norm", sa.String(256), nullable=False),
        sa.Column("email_domain", sa.String(253), nullable=False),
        sa.Column("contact", sa.String(256), nullable=True),
        sa.Column("amount", sa.Numeric(20, 4), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("expected_close", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(32), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("won_at", UTCDateTime(), nullable=True),
        sa.Column("conflict_id", sa.Integer(), nullable=True),
        sa.Column("card_channel", sa.String(32), nullable=True),
        sa.Column("card_ts", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_registration"),
        sa.UniqueConstraint("event_id", name="uq_registration_event_id"),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name="fk_registration_partner_id_partner",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["partner_user.id"],
            name="fk_registration_user_id_partner_user",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conflict_id"],
            ["registration.id"],
            name="fk_registration_conflict_id_registration",
            ondelete="SET NULL",
        ),
    )
    op.create_index(
        "ix_registration_domain_created", "registration", ["email_domain", "created_at"]
    )
    op.create_index(
        "ix_registration_company_created", "registration", ["company_norm", "created_at"]
    )
    op.create_index("ix_registration_status_expires", "registration", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_table("registration")
