"""partner reach: Slack Connect partner channels and partner-installed workspaces

- `partner`: `slack_channel_team_id` (the workspace its channel lives in, when not the
  vendor's) and `timezone` (its local time, for the weekly digest).
- `partner_user`: `slack_team_id` (the workspace of the rep's Slack id).
- `slack_team`: each workspace the bot knows, the partner it belongs to (none: the
  vendor's), and whether the bot is installed there (`app_uninstalled`, `tokens_revoked`).
- `partner_invite`: one Slack Connect invite per partner and address.
- `channel_member`: who Slack says is in a partner's channel.
- `slack_install_intent`: an OAuth state begun from a partner's install link.

Existing rows keep working unchanged: every new column is empty, which means "the
vendor's workspace", as before; each workspace already installed through OAuth becomes a
`slack_team` of the vendor's, so the jobs can find the vendor's token.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa
from alembic import op

from bot.store.engine import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _partner_fk(table: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey("partner.id", ondelete=ondelete, name=f"fk_{table}_partner_id_partner")


def upgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(sa.Column("slack_channel_team_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=True))
    with op.batch_alter_table("partner_user") as batch:
        batch.add_column(sa.Column("slack_team_id", sa.String(32), nullable=True))
    op.create_table(
        "slack_team",
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("partner_id", sa.Integer(), _partner_fk("slack_team", "SET NULL"), nullable=True),
        sa.Column("name", sa.String(256), nullable=True),
        sa.Column("installed_at", UTCDateTime(), nullable=True),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
        sa.Column("removed_reason", sa.String(32), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name="pk_slack_team"),
    )
    op.create_index("ix_slack_team_partner_id", "slack_team", ["partner_id"])
    op.create_table(
        "partner_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "partner_id", sa.Integer(), _partner_fk("partner_invite", "CASCADE"), nullable=False
        ),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("limited", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("invite_id", sa.String(64), nullable=True),
        sa.Column("error", sa.String(64), nullable=True),
        sa.Column("slack_user_id", sa.String(32), nullable=True),
        sa.Column("slack_team_id", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_partner_invite"),
        sa.UniqueConstraint("partner_id", "email", name="uq_partner_invite_email"),
    )
    op.create_index("ix_partner_invite_invite_id", "partner_invite", ["invite_id"])
    op.create_table(
        "channel_member",
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        sa.Column("slack_team_id", sa.String(32), nullable=True),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "slack_user_id", name="pk_channel_member"),
    )
    op.create_table(
        "slack_install_intent",
        sa.Column("state", sa.String(200), nullable=False),
        sa.Column(
            "partner_id",
            sa.Integer(),
            _partner_fk("slack_install_intent", "CASCADE"),
            nullable=False,
        ),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("state", name="pk_slack_install_intent"),
    )
    _vendor_teams_from_installations()


def _vendor_teams_from_installations() -> None:
    bind = op.get_bind()
    bots = sa.table("slack_bots", sa.column("team_id"), sa.column("installed_at", sa.DateTime()))
    teams = sa.table(
        "slack_team",
        sa.column("team_id"),
        sa.column("installed_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    rows = bind.execute(
        sa.select(bots.c.team_id, sa.func.min(bots.c.installed_at).label("at"))
        .where(bots.c.team_id.is_not(None))
        .group_by(bots.c.team_id)
    ).all()
    for row in rows:
        at = row.at.replace(tzinfo=UTC) if row.at.tzinfo is None else row.at
        bind.execute(teams.insert().values(team_id=row.team_id, installed_at=at, updated_at=at))


def downgrade() -> None:
    op.drop_table("slack_install_intent")
    op.drop_table("channel_member")
    op.drop_index("ix_partner_invite_invite_id", table_name="partner_invite")
    op.drop_table("partner_invite")
    op.drop_index("ix_slack_team_partner_id", table_name="slack_team")
    op.drop_table("slack_team")
    with op.batch_alter_table("partner_user") as batch:
        batch.drop_column("slack_team_id")
    with op.batch_alter_table("partner") as batch:
        batch.drop_column("timezone")
        batch.drop_column("slack_channel_team_id")
