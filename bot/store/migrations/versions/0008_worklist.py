"""worklist: what a manager did about a partner on their `/prm todo` worklist

- `worklist_action`: who, which partner, the action (nudge, hand_cs, snooze, open), why
  the partner was listed, the journey depth it had reached then, when, and for a snooze
  until when (docs/worklist.md).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.engine import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worklist_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        sa.Column(
            "partner_id",
            sa.Integer(),
            sa.ForeignKey(
                "partner.id",
                ondelete="CASCADE",
                name="fk_worklist_action_partner_id_partner",
            ),
            nullable=False,
        ),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_worklist_action"),
    )
    op.create_index(
        "ix_worklist_action_user_created", "worklist_action", ["slack_user_id", "created_at"]
    )
    op.create_index(
        "ix_worklist_action_partner", "worklist_action", ["partner_id", "action", "until"]
    )


def downgrade() -> None:
    op.drop_index("ix_worklist_action_partner", table_name="worklist_action")
    op.drop_index("ix_worklist_action_user_created", table_name="worklist_action")
    op.drop_table("worklist_action")
