"""The one settings object, read from the environment (and an optional `.env`).

Every variable is documented in the README; keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
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
