"""What every listener needs, built once per app: settings, the database, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.core.settings import Settings
from bot.core.timeutil import wall_clock
from bot.domain.access import Viewer
from bot.slack import dispatch
from bot.slack.client import LocaleResolver


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]
    # Real time for the ledger's retries, whatever `clock` says (PRM_AS_OF may freeze it).
    wall: Callable[[], datetime] = wall_clock
    locales: LocaleResolver = field(init=False)

    def __post_init__(self) -> None:
        self.locales = LocaleResolver(self.settings.default_locale)

    def who(self, client: WebClient, user_id: str) -> tuple[Viewer, str]:
        """Who is asking (their role, for access) and the language they read (stored,
        else Slack's — asked only then, and cached —, else the default)."""
        slack = partial(self.locales.slack_locale, client, user_id)
        return dispatch.who(self.engine, self.settings, user_id, slack)


def team_of(body: dict[str, Any]) -> str | None:
    """The workspace a request came from (interactivity payloads and events say it in
    different places): messages it causes go out with that workspace's token."""
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return str(user["team_id"])
    return str(body["team_id"]) if body.get("team_id") else None
