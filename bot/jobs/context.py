"""What a job run has to hand: settings, database, Slack client, the instant it acts as
of, and whether it only pretends (dry run)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import Connection, Engine

from bot.settings import Settings


@dataclass
class RecipientWrites:
    """What a run learnt about Slack users (DM channels, time zones), written in batches:
    it is a cache, so losing some to a crash costs a lookup, never a message."""

    channels: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, dict] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.channels) + len(self.profiles)


def wall_clock() -> datetime:
    """Real time: when a run started and ended, and when a retry is due — unlike `now`,
    the instant a run acts as of."""
    return datetime.now(UTC)


@dataclass
class JobContext:
    settings: Settings
    engine: Engine
    now: datetime
    client: WebClient | None  # None in a dry run: nothing may reach Slack
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

    @property
    def ledger_bind(self) -> Engine | Connection:
        return self.ledger_db if self.ledger_db is not None else self.engine

    counts: Counter[str] = field(default_factory=Counter)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] += n
