"""signed_on / registered_on: plain dates kept as dates, read in the reporting zone

Revision ID: 0003
Revises: 0002

A plain date means midnight in the zone a report is read in, which is only known when the
report runs; storing it as an instant fixed it to the zone of the import.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(sa.Column("signed_on", sa.Date(), nullable=True))
        batch.create_index("ix_partner_signed_on", ["signed_on"], unique=False)
    with op.batch_alter_table("partner_user") as batch:
        batch.add_column(sa.Column("registered_on", sa.Date(), nullable=True))
        batch.create_index(
            "ix_partner_user_partner_registered_on", ["partner_id", "registered_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("partner_user") as batch:
        batch.drop_index("ix_partner_user_partner_registered_on")
        batch.drop_column("registered_on")
    with op.batch_alter_table("partner") as batch:
        batch.drop_index("ix_partner_signed_on")
        batch.drop_column("signed_on")
