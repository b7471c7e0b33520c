"""What a job run has to hand: settings, database, Slack client, the instant it acts as
of, and whether it only pretends (dry run)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.settings import Settings


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
    counts: Counter[str] = field(default_factory=Counter)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] += n
