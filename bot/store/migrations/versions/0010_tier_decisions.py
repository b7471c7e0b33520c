"""tier_decision: a manager's Promote / Keep on a partner whose qualifying tier differs
from its assigned one (docs/program.md)

One row per partner, assigned tier, qualifying tier and scorecard week: the unique key
makes a press count once, however often it is replayed.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.engine import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tier_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "partner_id",
            sa.Integer(),
            sa.ForeignKey(
                "partner.id", ondelete="CASCADE", name="fk_tier_decision_partner_id_partner"
            ),
            nullable=False,
        ),
        sa.Column("from_tier", sa.String(64), nullable=False),
        sa.Column("to_tier", sa.String(64), nullable=False),
        sa.Column("week", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tier_decision"),
        sa.UniqueConstraint(
            "partner_id", "from_tier", "to_tier", "week", name="uq_tier_decision_once"
        ),
    )


def downgrade() -> None:
    op.drop_table("tier_decision")
