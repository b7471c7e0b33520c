"""PRM_DATABASE_READ_URL: KPI reads (`prm kpi`, GET /api/v1/kpi) go to the replica, the
rest (imports, the schema) to the primary; unset, everything reads the primary.

The "replica" here is a second database holding other rows, so a test can tell which one
answered (a streaming replica would hold the same rows and prove nothing)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from bot.store.engine import get_engine, get_read_engine, normalize_url
from bot.store.schema import upgrade
from tests.builders import Store
from tests.conftest import _create_database_if_missing
from tests.web.api.conftest import api_settings, serve_api

AS_OF = "2026-11-01T00:00:00Z"


@pytest.fixture
def replica_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'replica.db'}"
    else:
        target = make_url(normalize_url(db_url))
        url = target.set(database=f"{target.database}_read").render_as_string(hide_password=False)
        _create_database_if_missing(url)
    eng = get_engine(url)
    upgrade(eng)
    with eng.begin() as conn:  # empty it: the replica holds only what this test puts there
        for table in ("event", "partner_user", "partner"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    yield url


def seed(engine, partner: str) -> None:
    Store(engine).partner(partner, "2025-01-01", manager="UMGR1").user(f"{partner}-a", partner)
    Store(engine).event("deal.registered", "2026-10-20T00:00:00Z", partner, f"{partner}-a", "D1")


def registered_by(report: dict) -> list[str]:
    return sorted(p["key"] for p in report["by_partner"])


def test_prm_kpi_reads_the_replica_and_imports_write_the_primary(cli, engine, replica_url):
    seed(engine, "primary-co")
    seed(get_engine(replica_url), "replica-co")
    args = ("kpi", "deals", "--format", "json", "--as-of", AS_OF)
    plain = cli(*args)
    assert plain.exit_code == 0, plain.output
    assert registered_by(json.loads(plain.stdout)) == ["primary-co"]
    read = cli(*args, env={"PRM_DATABASE_READ_URL": replica_url})
    assert read.exit_code == 0, read.output
    assert registered_by(json.loads(read.stdout)) == ["replica-co"]


def test_the_api_reads_the_replica(db_url, engine, replica_url):
    seed(engine, "primary-co")
    seed(get_engine(replica_url), "replica-co")
    with serve_api(engine, api_settings(db_url, database_read_url=replica_url)) as api:
        response = api.kpi(kpi="deals", as_of=AS_OF)
    assert response.status_code == 200, response.text
    assert registered_by(response.json()) == ["replica-co"]


def test_no_read_url_or_the_same_one_is_the_primary(engine, db_url):
    assert get_read_engine("", engine) is engine
    assert get_read_engine(db_url, engine) is engine


def test_a_bad_read_url_is_one_line(cli, engine):
    out = cli("kpi", "deals", env={"PRM_DATABASE_READ_URL": "nonsense://x"})
    assert out.exit_code == 2 and "PRM_DATABASE_READ_URL" in out.output
    assert "Traceback" not in out.output
