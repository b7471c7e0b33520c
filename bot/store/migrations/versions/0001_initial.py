"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 08:04:58.616719
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.engine

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset")),
        sa.UniqueConstraint("key", name=op.f("uq_asset_key")),
    )
    op.create_table(
        "partner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("signed_at", bot.store.engine.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tier", sa.String(length=64), nullable=True),
        sa.Column("manager_slack_id", sa.String(length=32), nullable=True),
        sa.Column("cs_slack_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner")),
        sa.UniqueConstraint("key", name=op.f("uq_partner_key")),
    )
    op.create_index(
        op.f("ix_partner_manager_slack_id"), "partner", ["manager_slack_id"], unique=False
    )
    op.create_index(op.f("ix_partner_signed_at"), "partner", ["signed_at"], unique=False)
    op.create_index(op.f("ix_partner_tier"), "partner", ["tier"], unique=False)
    op.create_table(
        "asset_tag",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_asset_tag_asset_id_asset"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("asset_id", "tag", name=op.f("pk_asset_tag")),
    )
    op.create_index(op.f("ix_asset_tag_tag"), "asset_tag", ["tag"], unique=False)
    op.create_table(
        "partner_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("slack_user_id", sa.String(length=32), nullable=True),
        sa.Column("registered_at", bot.store.engine.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_partner_user_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_user")),
        sa.UniqueConstraint("key", name=op.f("uq_partner_user_key")),
    )
    op.create_index(
        "ix_partner_user_partner_registered",
        "partner_user",
        ["partner_id", "registered_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_partner_user_slack_user_id"), "partner_user", ["slack_user_id"], unique=False
    )
    op.create_table(
        "event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", bot.store.engine.UTCDateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("object_key", sa.String(length=128), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_event_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["partner_user.id"],
            name=op.f("fk_event_user_id_partner_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_event_event_id")),
    )
    op.create_index("ix_event_partner_time", "event", ["partner_id", "occurred_at"], unique=False)
    op.create_index(
        "ix_event_partner_type_time",
        "event",
        ["partner_id", "type", "occurred_at", "object_key"],
        unique=False,
    )
    op.create_index(
        "ix_event_type_time",
        "event",
        ["type", "occurred_at", "partner_id", "user_id", "object_key"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_event_type_time", table_name="event")
    op.drop_index("ix_event_partner_type_time", table_name="event")
    op.drop_index("ix_event_partner_time", table_name="event")
    op.drop_table("event")
    op.drop_index(op.f("ix_partner_user_slack_user_id"), table_name="partner_user")
    op.drop_index("ix_partner_user_partner_registered", table_name="partner_user")
    op.drop_table("partner_user")
    op.drop_index(op.f("ix_asset_tag_tag"), table_name="asset_tag")
    op.drop_table("asset_tag")
    op.drop_index(op.f("ix_partner_tier"), table_name="partner")
    op.drop_index(op.f("ix_partner_signed_at"), table_name="partner")
    op.drop_index(op.f("ix_partner_manager_slack_id"), table_name="partner")
    op.drop_table("partner")
    op.drop_table("asset")
