"""The integration API over real HTTP: the whole ASGI app (`create_web_app`) under uvicorn on
127.0.0.1, a random port, on SQLite and (with PRM_TEST_DATABASE_URL) PostgreSQL.

The world, small enough to work KPIs out by hand (as of 2026-11-01, period October):

- acme (gold, manager UMGR1, signed 2025-01-10): acme-alice, acme-bob; asset `guide`
  (onboarding) downloaded by acme-bob in February 2025; acme-alice registers 4 leads and
  2 deals in October 2026, and a deal in September.
- globex (silver, manager UMGR1, signed 2025-03-01): globex-gina; 1 login in October 2026.
- initech (gold, manager UMGR2, signed 2026-10-15): initech-ivan; nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from bot.core.settings import Settings
from bot.store.tables import Event
from bot.web.asgi import create_web_app
from tests.builders import Store
from tests.slack.conftest import _serve, stop

TOKEN = "test-api-token-0123456789"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
AS_OF_TEXT = "2026-11-01T00:00:00+00:00"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROUTES = [  # every route of the API, as (method, path)
    ("POST", "/api/v1/events"),
    ("PUT", "/api/v1/partners"),
    ("PUT", "/api/v1/users"),
    ("PUT", "/api/v1/assets"),
    ("GET", "/api/v1/kpi"),
]


def seed(engine: Engine) -> None:
    s = Store(engine)
    s.partner("acme", "2025-01-10", name="Acme Corp", manager="UMGR1", tier="gold")
    s.partner("globex", "2025-03-01", name="Globex", manager="UMGR1", tier="silver")
    s.partner("initech", "2026-10-15", name="Initech KK", manager="UMGR2", tier="gold")
    s.user("acme-alice", "acme", "2025-01-15", name="Alice")
    s.user("acme-bob", "acme", "2025-01-20", name="Bob")
    s.user("globex-gina", "globex", "2025-03-05", name="Gina")
    s.user("initech-ivan", "initech", "2026-10-20", name="Ivan")
    s.asset("guide", "onboarding")
    s.asset("deck")
    s.event("content.downloaded", "2025-02-02T09:00:00Z", "acme", "acme-bob", "guide")
    s.events("lead.registered", ["2026-10-05T10:00:00Z"] * 4, "acme", "acme-alice")
    s.events("deal.registered", ["2026-10-06T10:00:00Z"] * 2, "acme", "acme-alice")
    s.event("deal.registered", "2026-09-10T09:00:00Z", "acme", "acme-alice")
    s.event("user.login", "2026-10-10T09:00:00Z", "globex", "globex-gina")


def event_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Event)).scalar_one()


@dataclass
class Api:
    """A running app; requests carry the bearer token unless told otherwise."""

    url: str
    engine: Engine
    settings: Settings

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        head = {**(AUTH if auth else {}), **(headers or {})}
        return httpx.request(method, f"{self.url}{path}", headers=head, timeout=30, **kwargs)

    def post_events(self, items: Any, **kwargs: Any) -> httpx.Response:
        return self.request("POST", "/api/v1/events", json=items, **kwargs)

    def put(self, kind: str, items: Any, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", f"/api/v1/{kind}", json=items, **kwargs)

    def kpi(self, **params: str) -> httpx.Response:
        return self.request("GET", "/api/v1/kpi", params=params)


@contextmanager
def serve_api(engine: Engine, settings: Settings) -> Iterator[Api]:
    # The API never touches Bolt; the Slack routes' tests use a real one (tests/slack).
    app = create_web_app(object(), engine, settings, clock=lambda: AS_OF)  # type: ignore[arg-type]
    url, server, thread = _serve(app)
    try:
        yield Api(url, engine, settings)
    finally:
        stop(server, thread)


def api_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": db_url, "api_token": TOKEN, **overrides}
    return Settings(_env_file=None, **values)


@pytest.fixture
def empty_api(db_url: str, engine: Engine) -> Iterator[Api]:
    """The API on an empty (migrated) database."""
    with serve_api(engine, api_settings(db_url)) as api:
        yield api


@pytest.fixture
def api(db_url: str, engine: Engine, seeded) -> Iterator[Api]:
    """The API on the seeded world."""
    seeded(seed)
    with serve_api(engine, api_settings(db_url)) as api:
        yield api
