"""The jobs against a real database and the fake Slack, with an injected clock.

The book: partners with managers and CS owners, reps in Tokyo and New York, one rep with
no Slack account at a partner with a shared channel, one with neither.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from bot.core.settings import Settings
from bot.jobs.registry import run_job
from bot.slack.client import job_client
from bot.store.tables import Delivery, Partner
from tests.builders import Store
from tests.slackfake import FakeSlack

MANAGER_A, MANAGER_B, CS = "UMGRA", "UMGRB", "UCS"
TOKYO_REP, NY_REP, JA_REP = "UTOKYO", "UNEWYORK", "UJAREP"


def seed(engine: Engine) -> Store:
    s = Store(engine)
    s.partner("acme", "2025-01-10", name="Acme Corp", manager=MANAGER_A, cs=CS)
    s.partner("globex", "2025-03-01", name="Globex", manager=MANAGER_A, cs=CS)
    s.partner("initech", "2025-06-01", name="Initech KK", manager=MANAGER_B)
    s.partner("hooli", "2025-06-01", name="Hooli", manager="UEMPTY")  # signed later: see below
    # acme-tokyo: logged in, nothing else (→ onboarding content)
    s.user("acme-tokyo", "acme", "2025-01-15", slack_user_id=TOKYO_REP, name="Taro")
    # acme-ny: never logged in (→ log in)
    s.user("acme-ny", "acme", "2025-01-15", slack_user_id=NY_REP, name="Nina")
    # globex-ja: leads, no deal (→ deal registration), stored locale ja
    s.user("globex-ja", "globex", "2025-03-05", slack_user_id=JA_REP, locale="ja", name="花子")
    # initech-nochan: no Slack id, partner without channel (→ undeliverable)
    s.user("initech-nochan", "initech", "2025-06-05", name="Ivan")
    s.asset("guide", "onboarding", title="Partner guide")
    s.asset("deck", "onboarding", title="Sales deck")
    s.event("user.login", "2025-02-01T09:00:00Z", "acme", "acme-tokyo")
    s.event("user.login", "2025-03-06T09:00:00Z", "globex", "globex-ja")
    s.event("content.downloaded", "2025-03-07T09:00:00Z", "globex", "globex-ja", "guide")
    s.events("lead.registered", ["2026-10-01T09:00:00Z"] * 3, "globex", "globex-ja")
    return s


def seed_dormant_signing(engine: Engine) -> None:
    with engine.begin() as conn:  # hooli signs in the future: its manager's book is empty
        conn.execute(
            update(Partner).where(Partner.key == "hooli").values(signed_at=None, signed_on=None)
        )


@dataclass
class JobWorld:
    fake: FakeSlack
    engine: Engine
    settings: Settings

    def run(self, name: str, now: datetime, **kw: Any) -> dict | None:
        client = None if kw.get("dry_run") else job_client(self.settings)
        return run_job(
            name, self.settings, self.engine, now, client=client, echo=lambda _: None, **kw
        )

    def ledger(self) -> list[dict]:
        with self.engine.connect() as conn:
            table = Delivery.__table__
            return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.id))]

    def dms(self, channel_prefix: str = "") -> list:
        return [
            c
            for c in self.fake.calls_to("chat.postMessage")
            if str(c.params.get("channel", "")).startswith(channel_prefix)
        ]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token="xoxb-test") as slack:
        slack.add_user(TOKYO_REP, tz="Asia/Tokyo", locale="ja-JP")
        slack.add_user(NY_REP, tz="America/New_York", locale="en-US")
        slack.add_user(JA_REP, tz="Asia/Tokyo", locale="en-US")
        slack.add_user(MANAGER_A, tz="Europe/London", locale="en-GB")
        slack.add_user(MANAGER_B, tz="Asia/Tokyo", locale="ja-JP")
        slack.add_user(CS, tz="UTC", locale="en-US")
        yield slack


def job_settings(db_url: str, fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "slack_bot_token": "xoxb-test",
        "slack_api_url": fake.base_url,
        "holdout_share": 0.0,
        **overrides,
    }
    return Settings(_env_file=None, **values)


def seed_book(engine: Engine) -> None:
    """The jobs' world: `seed`, with hooli's signing moved to the future."""
    seed(engine)
    seed_dormant_signing(engine)


@pytest.fixture
def jobs(db_url: str, engine: Engine, fake: FakeSlack, seeded) -> Iterator[JobWorld]:
    seeded(seed_book)
    yield JobWorld(fake, engine, job_settings(db_url, fake))
    fake.validate_payloads()
