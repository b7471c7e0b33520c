"""A database that is gone or unreadable: `/healthz` says 503 after a real read of the
bot's tables, tracked links answer a small 503 page, the integration API a 503 JSON error.

Real failure modes, no mocks: a SQLite file removed, or overwritten so that it is not a
database; on PostgreSQL (PRM_TEST_DATABASE_URL) a role of our own whose privileges are
revoked while the app is connected as it; and an engine pointed at a closed port.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bot.core.settings import Settings
from bot.domain.links import make_token
from bot.store.engine import get_engine, normalize_url
from bot.web.api.errors import DB_UNAVAILABLE
from bot.web.asgi import create_web_app
from tests.builders import Store
from tests.conftest import PG_URL, TABLES
from tests.slack.conftest import _serve
from tests.web.api.conftest import ROUTES

SECRET = "test-link-secret"
API_TOKEN = "test-api-token-0123456789"
NOW = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)
FAILURES = ["sqlite-removed", "sqlite-not-a-database", "closed-port"] + (
    ["postgresql-revoked"] if PG_URL else []
)


@dataclass
class Served:
    url: str
    engine: Engine
    link: str  # a valid tracked link of a known rep and asset (before the failure)

    def get(self, path: str, **kwargs) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=30, follow_redirects=False, **kwargs)


def _seed(engine: Engine) -> None:
    Store(engine).partner("acme").user("acme-a", "acme").asset("guide", "onboarding")


def _serve_app(engine: Engine, db_url: str) -> tuple[str, object, object]:
    settings = Settings(
        _env_file=None,
        database_url=db_url,
        api_token=API_TOKEN,
        secret_key=SECRET,
        public_url="https://prm.example.com",
    )
    app = create_web_app(object(), engine, settings, clock=lambda: NOW)  # type: ignore[arg-type]
    return _serve(app)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _break_sqlite(path: Path, mode: str, engine: Engine) -> None:
    _remove_sqlite(path)
    if mode == "sqlite-not-a-database":
        path.write_bytes(b"this is not a SQLite database\n" * 512)
    engine.dispose()  # pooled connections still hold the old file open; new ones do not


@contextmanager
def _limited_role(admin_url: str) -> Iterator[tuple[str, str]]:
    """A login role of our own in the test database with the bot's privileges; its URL and
    name. Dropped afterwards (with every privilege it was granted)."""
    name = f"prm_web_probe_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{name}" LOGIN'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{name}"'))
        conn.execute(
            text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{name}"')
        )
        conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{name}"'))
    try:
        yield make_url(admin_url).set(username=name).render_as_string(hide_password=False), name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP OWNED BY "{name}"'))
            conn.execute(text(f'DROP ROLE "{name}"'))
        admin.dispose()


def revoke(admin_url: str, role: str, privileges: str = "ALL") -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'REVOKE {privileges} ON ALL TABLES IN SCHEMA public FROM "{role}"'))
    admin.dispose()


@pytest.fixture
def postgres_as_role(request: pytest.FixtureRequest) -> Iterator[tuple[Served, str, str]]:
    """The app connected to the seeded PostgreSQL test database as a limited role; the
    served app, the admin URL and the role's name (to revoke its privileges)."""
    admin_url = request.getfixturevalue("pg_ready")
    with get_engine(admin_url).begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    _seed(get_engine(admin_url))
    with _limited_role(admin_url) as (role_url, role):
        engine = create_engine(normalize_url(role_url), pool_pre_ping=True)
        url, server, thread = _serve_app(engine, role_url)
        served = Served(url, engine, "/c/" + make_token(SECRET, "acme-a", "guide"))
        try:
            yield served, admin_url, role
        finally:
            server.should_exit = True
            thread.join(timeout=5)
            engine.dispose()


@pytest.fixture(params=FAILURES)
def broken(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Served]:
    """The app, seeded and working, then its database broken one way."""
    mode: str = request.param
    link = "/c/" + make_token(SECRET, "acme-a", "guide")
    if mode == "postgresql-revoked":
        served, admin_url, role = request.getfixturevalue("postgres_as_role")
        assert served.get("/healthz").status_code == 200
        assert served.get(served.link, headers={"User-Agent": BROWSER}).status_code == 302
        revoke(admin_url, role)
        yield served
        return
    if mode == "closed-port":
        engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
        db_url = "postgresql://postgres@127.0.0.1:1/nothing"
    else:
        path = tmp_path / "prm.db"
        shutil.copy(sqlite_template, path)
        db_url = f"sqlite:///{path}"
        engine = get_engine(db_url)
        _seed(engine)
    url, server, thread = _serve_app(engine, db_url)
    served = Served(url, engine, link)
    try:
        if mode != "closed-port":
            assert served.get("/healthz").status_code == 200
            assert served.get(link, headers={"User-Agent": BROWSER}).status_code == 302
            _break_sqlite(path, mode, engine)
        yield served
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        engine.dispose()


def test_healthz_is_503_when_the_tables_cannot_be_read(broken):
    response = broken.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"] in ("unreachable", "unreadable")


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_tracked_link_answers_a_503_page(broken, method, caplog):
    response = httpx.request(
        method, f"{broken.url}{broken.link}", headers={"User-Agent": BROWSER}, timeout=30
    )
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["retry-after"] == "60"
    if method == "GET":
        assert "try again" in response.text
    assert "Traceback" not in caplog.text
    assert broken.link.removeprefix("/c/") not in caplog.text  # a personal link


def test_the_api_answers_503_json(broken):
    for method, path in ROUTES:
        body = {} if method == "GET" else {"json": [{"key": "acme", "name": "Acme"}]}
        response = httpx.request(method, f"{broken.url}{path}", headers=AUTH, timeout=30, **body)
        assert response.status_code == 503, (method, path, response.text)
        assert response.json() == {"error": DB_UNAVAILABLE}


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (PRM_TEST_DATABASE_URL)")
def test_healthz_sees_a_revoked_insert_privilege(postgres_as_role):
    served, admin_url, role = postgres_as_role
    assert served.get("/healthz").json() == {"status": "ok", "database": "ok"}
    revoke(admin_url, role, "INSERT")
    response = served.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreadable"
    # Reads still work (a HEAD is answered), a click cannot be recorded: a 503 page.
    assert httpx.head(f"{served.url}{served.link}", timeout=30).status_code == 302
    click = served.get(served.link, headers={"User-Agent": BROWSER})
    assert click.status_code == 503
