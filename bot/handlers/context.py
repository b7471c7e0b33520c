"""What every listener needs, built once per app: settings, the database, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.access import Viewer, resolve_viewer
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

    def who(self, client: WebClient, user_id: str) -> tuple[Viewer, str]:
        """Who is asking (their role, for access) and the language they read."""
        with self.engine.connect() as conn:
            viewer = resolve_viewer(conn, user_id, self.settings.admins)
        stored = viewer.rep.locale if viewer.rep else None
        return viewer, self.locales.locale_for(client, user_id, stored)
