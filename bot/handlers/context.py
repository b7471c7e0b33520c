"""What every listener needs, built once per app: settings, the database, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from bot.settings import Settings
from bot.slack_client import LocaleResolver


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]
    locales: LocaleResolver = field(init=False)

    def __post_init__(self) -> None:
        self.locales = LocaleResolver(self.settings.default_locale)
