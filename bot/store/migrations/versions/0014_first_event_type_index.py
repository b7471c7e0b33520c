"""ix_partner_first_event_type: which event types the store holds is a walk of this index
(one probe per type), not a DISTINCT over every partner's first events

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_partner_first_event_type", "partner_first_event", ["type"])


def downgrade() -> None:
    op.drop_index("ix_partner_first_event_type", table_name="partner_first_event")
