"""What a job run has to hand: settings, database, Slack client, the instant it acts as
of, and whether it only pretends (dry run)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Connection, Engine

from bot.core.settings import Settings
from bot.core.timeutil import wall_clock
from bot.slack import recipients
from bot.slack.client import Clients, slack_error
from bot.slack.locale import pick_locale
from bot.slack.recipients import RecipientWrites


@dataclass
class JobContext:
    settings: Settings
    engine: Engine
    now: datetime
    # The vendor's workspace (SLACK_BOT_TOKEN, else its own installation); None in a dry
    # run without a token, or an OAuth deployment the vendor has not installed in yet.
    client: WebClient | None
    dry_run: bool = False
    echo: Callable[[str], None] = print
    run_id: int | None = None
    scheduled: bool = False  # a scheduled occurrence (vs `prm jobs run` by hand)
    # The run's own autocommit connection for ledger writes (set by run_job): each claim
    # and mark still commits at once, without a pool checkout and BEGIN/COMMIT each time.
    ledger_db: Connection | None = None
    writes: RecipientWrites = field(default_factory=lambda: RecipientWrites())
    # What the run knows of its recipients already (`slack_recipient` rows by Slack id).
    known: dict[str, dict] = field(default_factory=dict)
    wall: Callable[[], datetime] = wall_clock
    # How long the running bot keeps retrying a message Slack did not get; after that the
    # job's next run writes it again (or a person resends it).
    retry_for: timedelta = timedelta(hours=1)
    # Each partner workspace's own client (its installation's token), by team id.
    clients: Clients | None = None

    @property
    def ledger_bind(self) -> Engine | Connection:
        return self.ledger_db if self.ledger_db is not None else self.engine

    counts: Counter[str] = field(default_factory=Counter)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def client_for(self, team_id: str | None) -> WebClient | None:
        """The client that reaches someone in `team_id` (None: the vendor's workspace);
        None when the bot is not installed there (any more)."""
        if team_id is None or self.clients is None:
            return self.client
        return self.clients.for_team(team_id)


def locale_for(ctx: JobContext, slack_user_id: str, cached: dict | None) -> str:
    """A manager's or CS owner's language: their Slack locale, else the default."""
    return profile_for(ctx, slack_user_id, cached)[1]


def profile_for(ctx: JobContext, slack_user_id: str, cached: dict | None) -> tuple[str | None, str]:
    """A manager's or CS owner's Slack time zone (None: unknown) and language.

    From users.info, cached a week in `slack_recipient`; a dry run without a token uses
    what was learnt before. A failed lookup falls back to what is cached (then the
    defaults: PRM_TIMEZONE, PRM_DEFAULT_LOCALE), counted as profile_error:…"""
    tz, slack_locale = (cached or {}).get("tz"), (cached or {}).get("locale")
    if ctx.client is not None:
        try:
            prof = recipients.profile(
                ctx.engine,
                ctx.client,
                slack_user_id,
                ctx.now,
                cached,
                store=not ctx.dry_run,
                writes=ctx.writes,
            )
            tz, slack_locale = prof.tz, prof.locale
        except (SlackApiError, SlackClientError, OSError) as exc:
            ctx.count(f"profile_error:{slack_error(exc)}")
    return tz, pick_locale(None, slack_locale, ctx.settings.default_locale)
