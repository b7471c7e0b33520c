"""`prm jobs list|history` fit an 80-column terminal and say "no runs yet"; a dry run at
an hour when nobody is due says so; plain `prm …` after `prm demo` says where the demo is."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from bot.core.settings import get_settings
from bot.store.engine import get_engine
from bot.store.schema import upgrade
from tests.builders import Store
from tests.jobs.conftest import seed, seed_dormant_signing


def widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def test_jobs_list_fits_80_columns(cli):
    out = cli("jobs", "list")
    assert out.exit_code == 0, out.output
    assert widest(out.output) <= 80, out.output
    for name in ("next-actions", "weekly-scorecards", "coaching-alerts", "deal-expiry"):
        assert name in out.output


def test_jobs_history_says_no_runs_yet_then_fits_80_columns(cli, engine):
    out = cli("jobs", "history")
    assert out.exit_code == 0, out.output
    assert "no runs yet" in out.output and widest(out.output) <= 80
    from bot.store.runs import claim_run, finish_run

    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    run = claim_run(engine, "weekly-scorecards", at.isoformat(), at, at)
    assert run is not None
    summary = {"sent": 120, "duplicate": 3, "retry:service_unavailable": 2, "skipped:empty": 9}
    finish_run(engine, run, "done", summary, at)
    out = cli("jobs", "history")
    assert out.exit_code == 0, out.output
    assert "no runs yet" not in out.output and "weekly-scorecards" in out.output
    assert "scheduled" in out.output and widest(out.output) <= 80, out.output


def test_a_dry_run_when_nobody_is_due_says_so_and_how_to_pick_another_hour(cli, engine):
    seed(engine)
    seed_dormant_signing(engine)
    Store(engine)  # the book: CS in UTC
    out = cli("jobs", "run", "coaching-alerts", "--dry-run", "--as-of", "2026-11-02T22:00Z")
    assert out.exit_code == 0, out.output
    assert "nobody is due at this hour" in out.output
    assert "--as-of 2026-11-03T10:00+00:00" in out.output
    out = cli("jobs", "run", "coaching-alerts", "--dry-run", "--as-of", "2026-11-02T10:00Z")
    assert "nobody is due" not in out.output and "would_send 1" in out.output


def test_plain_prm_after_prm_demo_says_where_the_demo_is(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PRM_DATABASE_URL", raising=False)
    demo = get_engine(f"sqlite:///{tmp_path / 'prm-demo.db'}")
    upgrade(demo)
    from bot.demo import ARTICLE_PARTNER_KEY

    Store(demo).partner(ARTICLE_PARTNER_KEY, "2025-01-01", name="Article")
    demo.dispose()
    from bot.cli.main import app

    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(app, ["jobs", "history"], catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert "PRM_DATABASE_URL=sqlite:///prm-demo.db prm" in out.output
