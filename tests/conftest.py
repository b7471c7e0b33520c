"""Fixtures: every database test runs on SQLite and, with PRM_TEST_DATABASE_URL, PostgreSQL.

Real databases, never mocks. SQLite gets a fresh file per test (copied from a migrated
template); PostgreSQL gets one migrated database per session, emptied between tests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from bot.core.settings import get_settings
from bot.store.engine import dispose_engines, get_engine, normalize_url
from bot.store.schema import upgrade

PG_URL = os.environ.get("PRM_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
TABLES = (
    "registration",
    "delivery",
    "job_run",
    "alert_episode",
    "slack_recipient",
    "event",
    "asset_tag",
    "asset",
    "partner_user",
    "partner",
    "slack_installations",
    "slack_bots",
    "slack_oauth_states",
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    eng = get_engine(f"sqlite:///{path}")
    upgrade(eng)
    eng.dispose()
    return path


def _create_database_if_missing(url: str) -> None:
    """CI names a database that may not exist yet; create it from the maintenance DB."""
    target = make_url(normalize_url(url))
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def _worker_url(url: str) -> str:
    """Under pytest-xdist each worker gets its own database (`prm_ci_gw0`, …): the tests
    empty tables between them, so two workers must never share one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    target = make_url(normalize_url(url))
    return target.set(database=f"{target.database}_{worker}").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_ready() -> str:
    assert PG_URL
    url = _worker_url(PG_URL)
    _create_database_if_missing(url)
    eng = get_engine(url)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(eng)
    return normalize_url(url)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A migrated, empty database; its URL."""
    if request.param == "sqlite":
        path = tmp_path / "prm.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        dispose_engines()
    else:
        url = request.getfixturevalue("pg_ready")
        eng = get_engine(url)
        with eng.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        yield url


@pytest.fixture
def engine(db_url: str) -> Engine:
    return get_engine(db_url)


class Cli:
    """Runs `prm …` in-process against the test database, as a user would type it."""

    def __init__(self, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.db_url = db_url
        self.monkeypatch = monkeypatch
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict[str, str] | None = None):
        from bot.cli.main import app

        self.monkeypatch.setenv("PRM_DATABASE_URL", self.db_url)
        for key, value in (env or {}).items():
            self.monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        try:
            return self.runner.invoke(app, list(args), catch_exceptions=False)
        finally:
            get_settings.cache_clear()


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    return Cli(db_url, monkeypatch)
