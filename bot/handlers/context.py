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
from bot.slack.client import Clients, LocaleResolver


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]
    # Real time for the ledger's retries, whatever `clock` says (PRM_AS_OF may freeze it).
    wall: Callable[[], datetime] = wall_clock
    locales: LocaleResolver = field(init=False)
    clients: Clients = field(init=False)

    def __post_init__(self) -> None:
        self.locales = LocaleResolver(self.settings.default_locale)
        self.clients = Clients(self.settings, self.engine)

    def client_for(self, own: WebClient) -> Callable[[str | None], WebClient | None]:
        """Clients by workspace for a listener whose own client (`own`, the workspace that
        got the request) reaches the vendor's people; a partner's workspace gets its own."""
        return lambda team: own if team is None else self.clients.for_team(team)

    def who(
        self, client: WebClient, user_id: str, teams: Teams = (None, None)
    ) -> tuple[Viewer, str]:
        """Who is asking (their role, for access: `teams_of` the request) and the language
        they read (stored, else Slack's — asked only then, and cached —, else the default)."""
        slack = partial(self.locales.slack_locale, client, user_id)
        return dispatch.who(self.engine, self.settings, user_id, slack, teams=teams)


# (the asker's own workspace, the workspace that got the request); they differ for an
# external member of a Slack Connect channel. None: the payload did not say.
Teams = tuple[str | None, str | None]


def teams_of(body: dict[str, Any]) -> Teams:
    """Both workspaces of a request. Interactivity payloads name the asker's in
    `user.team_id` and the app's in `team.id`; events in `user_team` / `authorizations`
    and `team_id`; slash commands in `team_id` (and `user_team_id` where Slack adds it)."""
    host: str | None = None
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        host = str(team["id"])
    elif body.get("team_id"):
        host = str(body["team_id"])
    own: str | None = None
    user = body.get("user")
    raw_event = body.get("event")
    event: dict[str, Any] = raw_event if isinstance(raw_event, dict) else {}
    if isinstance(user, dict) and user.get("team_id"):
        own = str(user["team_id"])
    else:
        sources: tuple[dict[str, Any], ...] = (body, event)
        for source in sources:
            for key in ("user_team", "user_team_id"):
                if source.get(key):
                    own = str(source[key])
                    break
            if own:
                break
    return own or host, host


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
