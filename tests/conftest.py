"""Fixtures: every database test runs on SQLite and, with PRM_TEST_DATABASE_URL, PostgreSQL.

Real databases, never mocks. SQLite gets a fresh file per test (copied from a migrated
template); PostgreSQL gets one migrated database per session, emptied between tests.
"""

from __future__ import annotations

import filecmp
import functools
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from bot.core.settings import get_settings
from bot.store.engine import dispose_engines, get_engine, normalize_url
from bot.store.schema import upgrade

PG_URL = os.environ.get("PRM_TEST_DATABASE_URL")
# The jobs' pacing to Slack's limits would wait on the wall clock; tests that exercise it
# (tests/slack/test_pacing.py) turn it on with an injected clock.
os.environ.setdefault("PRM_SLACK_PACING", "false")
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


@pytest.fixture(scope="session", autouse=True)
def _no_wall_clock_waits_in_slack_retries() -> Iterator[None]:
    """slack_sdk sleeps 0.5 s + up to 1 s of random jitter before each retry of a failed
    connection (the bot's SafeConnectionRetryHandler keeps slack_sdk's default interval
    calculator). The retries themselves still happen, as many as in production; only the
    wall-clock wait between them is injected as zero, so a "Slack is down" test waits for
    nothing and is deterministic."""
    from types import SimpleNamespace

    from slack_sdk.http_retry import builtin_handlers, handler

    calculator = handler.default_interval_calculator
    original = calculator.calculate_sleep_duration
    calculator.calculate_sleep_duration = lambda current_attempt: 0.0  # type: ignore[method-assign]
    # After a 429, slack_sdk sleeps Retry-After plus random() (up to 1 s) of jitter: the
    # Retry-After the fake sends is kept, the jitter (its only use of `random`) is zero.
    jitter = builtin_handlers.random
    builtin_handlers.random = SimpleNamespace(random=lambda: 0.0)  # type: ignore[assignment]
    yield
    calculator.calculate_sleep_duration = original  # type: ignore[method-assign]
    builtin_handlers.random = jitter


@pytest.fixture(scope="session", autouse=True)
def _one_tls_context_for_all_http_clients() -> Iterator[None]:
    """Each `httpx.get/post` builds a client and a TLS context, and loading the CA bundle
    costs ~40 ms, for requests to http://127.0.0.1 that never use TLS. Build the default
    context once per CA setting (SSL_CERT_FILE/SSL_CERT_DIR, which httpx reads) and share
    it; any other `verify=`/`cert=` is left to httpx."""
    from httpx._transports import default

    original = getattr(default, "create_ssl_context", None)
    if original is None:  # a private name: another httpx may not have it; only speed is lost
        yield
        return

    @functools.lru_cache(maxsize=4)
    def shared(cert_file: str | None, cert_dir: str | None):
        return original()  # reads those same two variables

    def create_ssl_context(verify=True, cert=None, trust_env=True):
        if verify is True and cert is None and trust_env:
            return shared(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        return original(verify=verify, cert=cert, trust_env=trust_env)

    default.create_ssl_context = create_ssl_context
    yield
    default.create_ssl_context = original


@pytest.fixture(scope="session", autouse=True)
def _each_distinct_scorecard_chart_drawn_once() -> Iterator[None]:
    """The scorecard chart is a pure function of its inputs (step keys, rates, the week's
    title: no names from the store), and matplotlib takes ~0.2 s to draw one. Tests run the
    scorecard job hundreds of times over the same few books: draw each distinct chart once
    with the real code and hand out the same bytes again."""
    from bot.jobs import scorecards

    original = scorecards.scorecard_png
    cache: dict[tuple, bytes] = {}

    @functools.wraps(original)
    def scorecard_png(steps, retention, title):
        key = (tuple(map(tuple, steps)), tuple(map(tuple, retention)), title)
        if key not in cache:
            cache[key] = original(steps, retention, title)
        return cache[key]

    scorecards.scorecard_png = scorecard_png
    yield
    scorecards.scorecard_png = original


@pytest.fixture(scope="session", autouse=True)
def _prm_command_built_once() -> Iterator[None]:
    """typer's CliRunner turns the `prm` Typer app into a click command on every invoke
    (~15 ms for all of prm's groups and options). The command is the same each time and
    click makes a new context per run, so `Cli` builds it once per app."""
    import typer.testing

    original = getattr(typer.testing, "_get_command", None)
    if original is None:  # a private name: another typer may not have it; only speed is lost
        yield
        return
    built: dict[int, tuple[object, object]] = {}

    def get_command(app):
        if id(app) not in built:
            built[id(app)] = (app, original(app))  # keeps `app` alive: its id stays unique
        return built[id(app)][1]

    typer.testing._get_command = get_command
    yield
    typer.testing._get_command = original


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


class SeedCache:
    """A world's seed, run once per session on SQLite and copied per test after that.

    The first time a seed is asked for, it runs on a fresh copy of the migrated template
    and the result is kept; each test then gets that file as its database, byte for byte
    what the seed would have written there (the builders take every instant from their
    arguments, never from the clock). A test whose database was written to before it asked
    (not the untouched template any more) is seeded as before, on top of what it holds; so
    is every test on PostgreSQL."""

    def __init__(self, root: Path, empty: Path) -> None:
        self.root = root
        self.empty = empty  # the migrated, empty template every SQLite test starts from
        self.files: dict[str, Path] = {}

    def apply(self, engine: Engine, seed: Callable[[Engine], object]) -> None:
        path = Path(engine.url.database or "") if engine.dialect.name == "sqlite" else None
        if path is None or not self._untouched(path):
            seed(engine)
            return
        key = f"{seed.__module__}.{seed.__qualname__}"
        template = self.files.get(key) or self._build(key, seed)
        engine.dispose()  # no pooled connection may outlive the file under it
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copy(template, path)

    def _untouched(self, path: Path) -> bool:
        return (
            path.is_file()
            and not Path(f"{path}-wal").exists()
            and filecmp.cmp(path, self.empty, shallow=False)
        )

    def _build(self, key: str, seed: Callable[[Engine], object]) -> Path:
        work = self.root / f"{key}.work.db"
        shutil.copy(self.empty, work)
        eng = get_engine(f"sqlite:///{work}")  # the product's SQLite engine, pragmas and all
        try:
            seed(eng)
        finally:
            eng.dispose()
        template = self.root / f"{key}.db"
        with closing(sqlite3.connect(work)) as src, closing(sqlite3.connect(template)) as dst:
            src.backup(dst)  # reads through any WAL: everything the seed committed
        self.files[key] = template
        return template


@pytest.fixture(scope="session")
def seed_cache(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> SeedCache:
    return SeedCache(tmp_path_factory.mktemp("seeded"), sqlite_template)


@pytest.fixture
def seeded(seed_cache: SeedCache, engine: Engine) -> Callable[[Callable[[Engine], object]], None]:
    """`seeded(seed)`: this test's database as `seed(engine)` leaves it (see SeedCache)."""
    return functools.partial(seed_cache.apply, engine)


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
