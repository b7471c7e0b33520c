"""The one settings object, read from the environment (and an optional `.env`).

Every variable is documented in the README; keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.timeutil import QuietHours

DEFAULT_DATABASE_URL = "sqlite:///prm.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PRM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; postgresql:// and postgres:// are accepted as typed.",
    )
    database_read_url: str = Field(
        default="",
        description="A read replica for KPI reads (prm kpi, GET /api/v1/kpi); empty: the primary.",
    )
    timezone: str = Field(default="UTC", description="IANA zone the reports are read in.")
    currency: str = Field(
        default="USD",
        description="ISO 4217 code of the program's one currency (deal amounts, `pipeline`).",
    )
    import_batch_size: int = Field(default=5000, ge=1, le=100_000)
    coaching_min_leads: int = Field(default=10, ge=1)
    coaching_ratio: float = Field(default=0.5, gt=0, le=1)
    journey_steps: str = Field(
        default="",
        description="Comma-separated journey; empty means the spec's default seven steps.",
    )
    active_event_types: str = Field(
        default="",
        description="Comma-separated event types counted as activity for retention.",
    )

    # Slack. The token variables keep Slack's own names (no PRM_ prefix), as in Slack's docs.
    slack_bot_token: str = Field(
        default="", validation_alias=AliasChoices("SLACK_BOT_TOKEN", "PRM_SLACK_BOT_TOKEN")
    )
    slack_signing_secret: str = Field(
        default="",
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "PRM_SLACK_SIGNING_SECRET"),
    )
    slack_app_token: str = Field(
        default="", validation_alias=AliasChoices("SLACK_APP_TOKEN", "PRM_SLACK_APP_TOKEN")
    )
    slack_client_id: str = Field(
        default="", validation_alias=AliasChoices("SLACK_CLIENT_ID", "PRM_SLACK_CLIENT_ID")
    )
    slack_client_secret: str = Field(
        default="",
        validation_alias=AliasChoices("SLACK_CLIENT_SECRET", "PRM_SLACK_CLIENT_SECRET"),
    )
    slack_pacing: bool = Field(
        default=True, description="Jobs pace their Slack calls to the published limits."
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Slack Web API base URL; tests and proxies point it elsewhere.",
    )
    slack_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="How long a Slack Web API call may take before it counts as failed.",
    )
    admin_slack_ids: str = Field(default="", description="Comma-separated Slack user ids.")
    default_locale: str = Field(default="en", pattern="^(en|ja)$")
    public_url: str = Field(default="http://localhost:3000")
    as_of: str = Field(
        default="",
        description="Freeze the bot's clock at this instant (demos, acceptance runs).",
    )

    # Scheduled jobs (docs/jobs.md).
    schedule_timezone: str = Field(default="", description="Zone of the cron schedules.")
    scheduler_enabled: bool = Field(default=True, description="Run the jobs inside prm serve.")
    nudge_hour: int = Field(default=10, ge=0, le=23)
    nudge_cap_days: int = Field(default=7, ge=1)
    nudge_stop_after: int = Field(default=3, ge=0)
    quiet_hours: str = Field(default="20:00-08:00")
    holdout_share: float = Field(default=0.1, ge=0, le=1)
    holdout_salt: str = Field(default="prm-holdout-v1")
    nudge_rules: str = Field(default="", description="Path to a rules YAML; empty = built in.")
    program: str = Field(
        default="", description="Path to the program YAML (tiers, certifications, health)."
    )
    portal_url: str = Field(default="", description="Partner portal login URL for nudges.")
    # Hourly, Sunday to Tuesday in the schedule zone: every zone's Monday is in there, and
    # each manager's scorecard goes out from scorecard_hour on their own Monday.
    scorecard_cron: str = Field(default="0 * * * sun,mon,tue")
    scorecard_hour: int = Field(default=9, ge=0, le=23)
    # Hourly: each CS owner's digest goes out from digest_hour in their own zone.
    coaching_cron: str = Field(default="30 * * * *")
    digest_hour: int = Field(default=9, ge=0, le=23)
    # Hourly around Monday, like the scorecards: each partner's digest goes out in its own
    # shared channel from partner_digest_hour on its own Monday (partner.timezone).
    partner_digest_cron: str = Field(default="15 * * * sun,mon,tue")
    partner_digest_hour: int = Field(default=9, ge=0, le=23)
    # A database built by `prm demo` is messaged by jobs only when this is true.
    demo_send: bool = Field(default=False)
    stuck_days: int = Field(default=21, ge=1)
    snooze_days: int = Field(default=14, ge=1)
    # The manager's worklist (/prm todo, docs/worklist.md); distinct from stuck_days
    # (coaching alerts to CS): a manager hears about a stuck partner sooner.
    worklist_stuck_days: int = Field(default=14, ge=1)
    activation_days: int = Field(default=30, ge=1)
    alerts_per_run: int = Field(default=10, ge=1)
    outbox_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="How often the running bot retries messages Slack did not take.",
    )

    # Partner actions and the integration API (docs/registration.md, docs/api.md).
    secret_key: str = Field(
        default="", description="Signs tracked content links; required to serve them."
    )
    api_token: str = Field(default="", description="Bearer token of the integration API.")
    registration_expiry_days: int = Field(default=90, ge=1)
    expiry_reminder_days: int = Field(default=14, ge=1)
    conflict_days: int = Field(default=90, ge=1)
    expiry_cron: str = Field(default="0 8 * * *")

    @field_validator("as_of")
    @classmethod
    def _instant(cls, value: str) -> str:
        if value.strip():
            from bot.core.timeutil import parse_user_instant

            parse_user_instant(value, ZoneInfo("UTC"))  # TimeParseError is a ValueError
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        QuietHours.parse(value)
        return value

    @field_validator("scorecard_cron", "coaching_cron", "expiry_cron", "partner_digest_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"{value!r}: use five cron fields, such as '0 9 * * mon'")
        return value

    @property
    def schedule_tz(self) -> ZoneInfo:
        return ZoneInfo(self.schedule_timezone or self.timezone)

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(self.admins_in_order)

    @property
    def admins_in_order(self) -> tuple[str, ...]:
        """As listed: the first one decides the deals of a partner without a manager."""
        return tuple(s.strip() for s in self.admin_slack_ids.split(",") if s.strip())

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    @field_validator("timezone", "schedule_timezone")
    @classmethod
    def _known_zone(cls, value: str, info: ValidationInfo) -> str:
        if not value and info.field_name == "schedule_timezone":
            return value  # empty: the reporting zone
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 3 or not code.isascii() or not code.isalpha():
            raise ValueError(f"{value!r}: use a three-letter ISO 4217 code such as USD or JPY")
        return code


@lru_cache
def get_settings() -> Settings:
    return Settings()
