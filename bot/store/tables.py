"""The store: partners, their users (reps), the content catalogue and the activity log.

Events reference partners and users by integer id so that the hot indexes stay narrow; the
exchange formats speak in keys, and the importer translates. Every timestamp is a UTC
instant (`UTCDateTime`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from bot.store.engine import UTCDateTime

# Deterministic constraint names, so migrations can refer to them on both databases.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only aliases ROWID for a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Partner(SQLModel, table=True):
    __tablename__ = "partner"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(128), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(256), nullable=False))
    # Signed at an instant, or on a plain date (midnight in whichever zone a report is read
    # in, so the date is kept as a date); at most one of the two is set.
    signed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
    signed_on: date | None = Field(default=None, sa_column=Column(Date, index=True))
    tier: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    manager_slack_id: str | None = Field(default=None, sa_column=Column(String(32), index=True))
    cs_slack_id: str | None = Field(default=None, sa_column=Column(String(32), index=True))
    # The partner's shared channel (Slack Connect, made by `prm partners connect`, or typed
    # into an import): its digest, and the nudges of reps who cannot be DMed, go there.
    slack_channel_id: str | None = Field(default=None, sa_column=Column(String(32)))
    # The workspace that channel lives in, when it is not the vendor's (a channel in the
    # partner's own workspace, posted to with that installation's token).
    slack_channel_team_id: str | None = Field(default=None, sa_column=Column(String(32)))
    # The partner's local time (IANA), for its weekly digest; None: PRM_TIMEZONE.
    timezone: str | None = Field(default=None, sa_column=Column(String(64)))


class PartnerUser(SQLModel, table=True):
    __tablename__ = "partner_user"
    __table_args__ = (
        Index("ix_partner_user_partner_registered", "partner_id", "registered_at"),
        Index("ix_partner_user_partner_registered_on", "partner_id", "registered_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(128), nullable=False, unique=True))
    partner_id: int = Field(
        sa_column=Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), nullable=False)
    )
    name: str | None = Field(default=None, sa_column=Column(String(256)))
    email: str | None = Field(default=None, sa_column=Column(String(320)))
    slack_user_id: str | None = Field(default=None, sa_column=Column(String(32), index=True))
    # The workspace that Slack id belongs to; None: the vendor's (a single-workspace setup).
    slack_team_id: str | None = Field(default=None, sa_column=Column(String(32)))
    registered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    registered_on: date | None = Field(default=None, sa_column=Column(Date))  # see signed_on
    locale: str | None = Field(default=None, sa_column=Column(String(16)))
    # Set when the rep pressed "Stop these tips" (or typed /prm tips off); cleared by on.
    tips_off_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class Asset(SQLModel, table=True):
    __tablename__ = "asset"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(128), nullable=False, unique=True))
    title: str | None = Field(default=None, sa_column=Column(String(512)))
    url: str | None = Field(default=None, sa_column=Column(String(2048)))


class AssetTag(SQLModel, table=True):
    """One row per (asset, tag); `onboarding` marks onboarding material."""

    __tablename__ = "asset_tag"

    asset_id: int = Field(
        sa_column=Column(Integer, ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True)
    )
    tag: str = Field(sa_column=Column(String(64), primary_key=True, index=True))


class Event(SQLModel, table=True):
    """Append-only activity. `event_id` is the idempotency key.

    Indexes are shaped for the KPI queries, and cover them so that no query reads the
    table: first/any event of a type per partner (partner, type, time; + object for "an
    onboarding download"), any activity per partner in a window (partner, time), and the
    period scans by type (type, time; + partner, user, object for the per-rep and per-asset
    counts).
    """

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_partner_type_time", "partner_id", "type", "occurred_at", "object_key"),
        Index("ix_event_partner_time", "partner_id", "occurred_at"),
        Index("ix_event_type_time", "type", "occurred_at", "partner_id", "user_id", "object_key"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    event_id: str = Field(sa_column=Column(String(128), nullable=False, unique=True))
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    type: str = Field(sa_column=Column(String(32), nullable=False))
    partner_id: int = Field(
        sa_column=Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("partner_user.id", ondelete="CASCADE")),
    )
    object_key: str | None = Field(default=None, sa_column=Column(String(128)))
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(20, 4)))


class PartnerFirstEvent(SQLModel, table=True):
    """When each partner first did each kind of thing: a rollup of `event`.

    Kept by database triggers on every insert into `event` (whoever writes it), so it can
    never disagree with the log. The first X before any `as_of` is this first X when it is
    earlier than `as_of`, so the journey and activation read one small row per partner and
    type instead of probing millions of events.
    """

    __tablename__ = "partner_first_event"

    partner_id: int = Field(
        sa_column=Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True)
    )
    # Indexed on its own too: which types the store holds is a walk of that index, one
    # probe per type (bot.kpi.sql.stored_types), not a scan of every partner's rows.
    type: str = Field(sa_column=Column(String(32), primary_key=True, index=True))
    first_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class PartnerMonthActivity(SQLModel, table=True):
    """Per partner, UTC month and event type: how many events, the first and the last, and
    the sum of their amounts (None when none has one).

    Kept by database triggers on every insert into and delete from `event`, like
    `partner_first_event`, and rebuilt from the log by `prm db rebuild-rollups`. Whether a
    partner was active in a window [a, b) follows exactly from a month's first and last
    instants, except when the window lies inside one month between them; retention reads
    this instead of probing the log a dozen times per partner
    (`bot.kpi.sql.partner_active_between`).
    """

    __tablename__ = "partner_month_activity"

    partner_id: int = Field(
        sa_column=Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True)
    )
    month: datetime = Field(sa_column=Column(UTCDateTime, primary_key=True))
    type: str = Field(sa_column=Column(String(32), primary_key=True))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))
    first_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(24, 4)))


class SlackRecipient(SQLModel, table=True):
    """What we learnt about a Slack user once, so jobs do not ask again for every message:
    their DM channel (conversations.open), time zone and locale (users.info)."""

    __tablename__ = "slack_recipient"

    slack_user_id: str = Field(sa_column=Column(String(32), primary_key=True))
    dm_channel_id: str | None = Field(default=None, sa_column=Column(String(32)))
    tz: str | None = Field(default=None, sa_column=Column(String(64)))
    locale: str | None = Field(default=None, sa_column=Column(String(16)))
    profile_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class JobRun(SQLModel, table=True):
    """One run of a job. (job, occurrence) is unique: the scheduled occurrence claimed by
    whichever instance inserts it first, so each occurrence runs once across replicas."""

    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("job", "occurrence", name="uq_job_run_job_occurrence"),
        Index("ix_job_run_started", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(sa_column=Column(String(32), nullable=False))
    occurrence: str = Field(sa_column=Column(String(64), nullable=False))
    as_of: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    host: str | None = Field(default=None, sa_column=Column(String(128)))
    # Which process runs it, and when it last said so: a run whose process is gone (same
    # host) or silent (any host) is shown as interrupted, not "running" forever.
    pid: int | None = Field(default=None, sa_column=Column(Integer))
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    summary: str | None = Field(default=None, sa_column=Column(Text))


class Delivery(SQLModel, table=True):
    """The delivery ledger: one row per message the bot means to send, keyed for exactly once.

    The row is written before sending and marked after; a unique `key` (job, recipient,
    period or episode; registration and step) stops a rerun, a restart, a replayed request
    or a second instance from sending the same message again. Until the message is known
    to be sent, the row keeps the message itself (`payload`), so the running bot can retry
    it (`next_attempt_at`, until `give_up_at`) and a person can resend it by hand. A row
    whose fate is unknown (`ambiguous`, or `pending` long after its attempt) is reported,
    never resent automatically. See bot/jobs/ledger.py for the states.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        Index("ix_delivery_user_created", "user_id", "created_at"),
        Index("ix_delivery_status_created", "status", "created_at"),
        # Partial: only owed rows are in them, so the thousands of rows a fan-out claims
        # and marks sent never touch these two indexes.
        Index(
            "ix_delivery_status_next",
            "status",
            "next_attempt_at",
            sqlite_where=text("status IN ('queued', 'retry')"),
            postgresql_where=text("status IN ('queued', 'retry')"),
        ),
        Index(
            "ix_delivery_ref",
            "ref",
            sqlite_where=text("ref IS NOT NULL"),
            postgresql_where=text("ref IS NOT NULL"),
        ),
        Index("ix_delivery_run", "run_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    key: str = Field(sa_column=Column(String(255), nullable=False, unique=True))
    job: str = Field(sa_column=Column(String(32), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    recipient: str = Field(sa_column=Column(String(128), nullable=False))
    channel_id: str | None = Field(default=None, sa_column=Column(String(32)))
    user_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("partner_user.id", ondelete="CASCADE")),
    )
    action: str | None = Field(default=None, sa_column=Column(String(64)))
    target: str | None = Field(default=None, sa_column=Column(String(64)))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    error: str | None = Field(default=None, sa_column=Column(String(64)))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    message_ts: str | None = Field(default=None, sa_column=Column(String(32)))
    run_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("job_run.id", ondelete="SET NULL"))
    )
    # The message as sent to Slack (JSON: method, destination, text, blocks), kept until it
    # is sent. The retry instants are wall-clock time, whatever clock the content was
    # written for: a retry waits real seconds even when the bot's clock is frozen.
    payload: str | None = Field(default=None, sa_column=Column(Text))
    # The key of the message this one updates or attaches to (a card's update, a chart):
    # it waits until that one is sent, then follows it.
    ref: str | None = Field(default=None, sa_column=Column(String(255)))
    attempted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    give_up_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class AlertEpisode(SQLModel, table=True):
    """A coaching condition from the moment it was first seen until it no longer holds.

    One alert per episode: at most one open episode per (condition, subject), enforced by a
    partial unique index so two instances cannot open it twice.
    """

    __tablename__ = "alert_episode"
    __table_args__ = (
        Index(
            "uq_alert_episode_open",
            "condition",
            "subject",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_alert_episode_cs", "cs_slack_id", "closed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    condition: str = Field(sa_column=Column(String(32), nullable=False))
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    cs_slack_id: str = Field(sa_column=Column(String(32), nullable=False))
    partner_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"))
    )
    detail: str | None = Field(default=None, sa_column=Column(Text))
    opened_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    acked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    acked_by: str | None = Field(default=None, sa_column=Column(String(32)))
    snoozed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class Registration(SQLModel, table=True):
    """A lead or deal a partner rep registered (from Slack), with its approval life.

    A lead is `registered`. A deal starts `pending` (awaiting the partner manager), then
    `approved` (until `expires_at`, unless `won`) or `rejected`; an approved deal past its
    expiry becomes `expired`. Each step is also an event in the activity log.
    """

    __tablename__ = "registration"
    __table_args__ = (
        Index("ix_registration_domain_created", "email_domain", "created_at"),
        Index("ix_registration_company_created", "company_norm", "created_at"),
        Index("ix_registration_status_expires", "status", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(String(8), nullable=False))
    partner_id: int = Field(
        sa_column=Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("partner_user.id", ondelete="CASCADE"), nullable=False)
    )
    company: str = Field(sa_column=Column(String(256), nullable=False))
    company_norm: str = Field(sa_column=Column(String(256), nullable=False))
    email_domain: str = Field(sa_column=Column(String(253), nullable=False))
    contact: str | None = Field(default=None, sa_column=Column(String(256)))
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(20, 4)))
    currency: str | None = Field(default=None, sa_column=Column(String(3)))
    expected_close: date | None = Field(default=None, sa_column=Column(Date))
    notes: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    event_id: str = Field(sa_column=Column(String(128), nullable=False, unique=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    decided_by: str | None = Field(default=None, sa_column=Column(String(32)))
    reject_reason: str | None = Field(default=None, sa_column=Column(Text))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    won_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    conflict_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("registration.id", ondelete="SET NULL")),
    )
    # The submitted modal (view id and a hash of its values): a replayed submission finds
    # it taken and stores nothing. Registrations made before it existed have none.
    submission_key: str | None = Field(
        default=None, sa_column=Column(String(128), unique=True, nullable=True)
    )


class WorklistAction(SQLModel, table=True):
    """What a manager did about a partner on their `/prm todo` worklist: nudged its reps,
    handed it to CS, snoozed it (until `until`) or opened its card. `depth` is the
    deepest journey step the partner had reached when they acted, so a later scorecard can
    say whether it moved forward since (docs/worklist.md)."""

    __tablename__ = "worklist_action"
    __table_args__ = (
        Index("ix_worklist_action_user_created", "slack_user_id", "created_at"),
        Index("ix_worklist_action_partner", "partner_id", "action", "until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slack_user_id: str = Field(sa_column=Column(String(32), nullable=False))
    partner_id: int = Field(
        sa_column=Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), nullable=False)
    )
    action: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str = Field(sa_column=Column(String(16), nullable=False))
    depth: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class TierDecision(SQLModel, table=True):
    """A manager's Promote or Keep on a partner whose qualifying tier (`to_tier`) differs
    from its assigned one (`from_tier`), from the scorecard of `week`: once per partner,
    pair and week, so a replayed press changes nothing (docs/program.md)."""

    __tablename__ = "tier_decision"
    __table_args__ = (
        UniqueConstraint(
            "partner_id", "from_tier", "to_tier", "week", name="uq_tier_decision_once"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(
        sa_column=Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), nullable=False)
    )
    from_tier: str = Field(sa_column=Column(String(64), nullable=False))
    to_tier: str = Field(sa_column=Column(String(64), nullable=False))
    week: str = Field(sa_column=Column(String(16), nullable=False))
    decision: str = Field(sa_column=Column(String(16), nullable=False))
    slack_user_id: str = Field(sa_column=Column(String(32), nullable=False))
    decided_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class SlackTeam(SQLModel, table=True):
    """A Slack workspace the bot knows: the vendor's own (partner_id NULL), or a partner's,
    learnt from an install through the partner's install link or from a partner's person
    accepting a Slack Connect invite. The bot sends with a team's own token only while it
    is installed there (`installed_at` set, `removed_at` not): `app_uninstalled` and
    `tokens_revoked` set `removed_at`, and nothing is sent to that team again until it
    installs again (docs/partners.md)."""

    __tablename__ = "slack_team"

    team_id: str = Field(sa_column=Column(String(32), primary_key=True))
    partner_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("partner.id", ondelete="SET NULL"), index=True),
    )
    name: str | None = Field(default=None, sa_column=Column(String(256)))
    installed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    removed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    removed_reason: str | None = Field(default=None, sa_column=Column(String(32)))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class PartnerInvite(SQLModel, table=True):
    """One Slack Connect invitation of one address to a partner's channel: (partner,
    email) is unique, so `prm partners connect` run again invites nobody twice. A failed
    invite keeps Slack's error and may be tried again; a pending, accepted or declined one
    is not."""

    __tablename__ = "partner_invite"
    __table_args__ = (UniqueConstraint("partner_id", "email", name="uq_partner_invite_email"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(
        sa_column=Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), nullable=False)
    )
    email: str = Field(sa_column=Column(String(320), nullable=False))
    channel_id: str = Field(sa_column=Column(String(32), nullable=False))
    limited: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    invite_id: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    error: str | None = Field(default=None, sa_column=Column(String(64)))
    slack_user_id: str | None = Field(default=None, sa_column=Column(String(32)))
    slack_team_id: str | None = Field(default=None, sa_column=Column(String(32)))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ChannelMember(SQLModel, table=True):
    """Who is in a partner's channel, as Slack told us (member_joined_channel, an accepted
    invite): a rep who is a member can be mentioned there when a DM cannot reach them."""

    __tablename__ = "channel_member"

    channel_id: str = Field(sa_column=Column(String(32), primary_key=True))
    slack_user_id: str = Field(sa_column=Column(String(32), primary_key=True))
    slack_team_id: str | None = Field(default=None, sa_column=Column(String(32)))
    joined_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class InstallIntent(SQLModel, table=True):
    """An OAuth install begun from a partner's install link: Bolt's state (one use, ten
    minutes) → the partner, so the finished install maps the installing team to it."""

    __tablename__ = "slack_install_intent"

    state: str = Field(sa_column=Column(String(200), primary_key=True))
    partner_id: int = Field(
        sa_column=Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
