"""The one settings object, read from the environment (and an optional `.env`).

Every variable is documented in the README; keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///prm.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PRM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; postgresql:// and postgres:// are accepted as typed.",
    )
    timezone: str = Field(default="UTC", description="IANA zone the reports are read in.")
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
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Slack Web API base URL; tests and proxies point it elsewhere.",
    )
    admin_slack_ids: str = Field(default="", description="Comma-separated Slack user ids.")
    default_locale: str = Field(default="en", pattern="^(en|ja)$")
    public_url: str = Field(default="http://localhost:3000")
    as_of: str = Field(
        default="",
        description="Freeze the bot's clock at this instant (demos, acceptance runs).",
    )

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(s.strip() for s in self.admin_slack_ids.split(",") if s.strip())

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache
def get_settings() -> Settings:
    return Settings()
