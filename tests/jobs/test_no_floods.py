"""No floods: a first start catches nothing up, a catch-up after downtime never sends
outside the recipients' allowed hours, and a database built by `prm demo` is never
messaged unless PRM_DEMO_SEND=true."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.demo.build import build_demo
from bot.jobs.registry import demo_refusal
from bot.jobs.scheduler import catch_up, fire, first_start, held_back
from bot.slack.client import job_client
from bot.store.demo_mark import is_demo, mark_demo
from bot.store.engine import get_engine
from bot.store.runs import claim_run, recent_runs
from bot.store.schema import upgrade
from tests.jobs.conftest import job_settings

MONDAY_0900 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def earlier_run(jobs) -> None:
    """The bot has run before (a run recorded last week)."""
    week_ago = MONDAY_0900 - timedelta(days=7)
    claim_run(jobs.engine, "deal-expiry", "last-week", week_ago, week_ago)


def test_a_first_start_fires_no_backlog(jobs):
    assert first_start(jobs.engine)
    back = MONDAY_0900 + timedelta(hours=1)  # Monday's scorecards are "missed"
    thread = catch_up(jobs.settings, jobs.engine, job_client(jobs.settings), lambda: back)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert jobs.fake.calls_to("chat.postMessage") == []
    assert recent_runs(jobs.engine) == []  # nothing claimed, nothing run


def test_after_downtime_a_missed_occurrence_is_caught_up_once(jobs):
    earlier_run(jobs)
    assert not first_start(jobs.engine)
    back = MONDAY_0900 + timedelta(hours=1)
    thread = catch_up(jobs.settings, jobs.engine, job_client(jobs.settings), lambda: back)
    thread.join(timeout=60)
    scorecards = [r for r in recent_runs(jobs.engine) if r["job"] == "weekly-scorecards"]
    assert len(scorecards) == 1 and scorecards[0]["summary"]["sent"] == 2


def test_a_catch_up_in_quiet_hours_sends_nothing(jobs):
    earlier_run(jobs)
    late = MONDAY_0900 + timedelta(hours=12)  # 21:00 UTC, within 20:00-08:00
    client = job_client(jobs.settings)
    assert held_back("deal-expiry", jobs.settings, jobs.engine, late) is not None
    assert held_back("next-actions", jobs.settings, jobs.engine, late) is None  # per rep
    assert held_back("weekly-scorecards", jobs.settings, jobs.engine, late) is None  # per manager
    for name in ("weekly-scorecards", "coaching-alerts", "deal-expiry"):
        fire(name, jobs.settings, jobs.engine, client, lambda: late)
    assert jobs.fake.calls_to("chat.postMessage") == []
    # Deal expiry was held back; the digest and the scorecards ran and skipped everyone
    # (21:00 in UTC and London, 06:00 in Tokyo).
    runs = {r["job"]: r for r in recent_runs(jobs.engine) if r["occurrence"] != "last-week"}
    assert "deal-expiry" not in runs
    assert runs["weekly-scorecards"]["summary"]["skipped:not_now"] == 2
    assert runs["coaching-alerts"]["summary"]["skipped:not_now"] == 1


def test_a_demo_database_is_never_messaged_unless_asked(jobs, tmp_path: Path):
    engine = get_engine(f"sqlite:///{tmp_path / 'marked.db'}")
    upgrade(engine)
    assert not is_demo(engine)
    mark_demo(engine)
    assert is_demo(engine)
    settings = job_settings(str(engine.url), jobs.fake)
    assert demo_refusal(settings, engine) is not None
    assert "PRM_DEMO_SEND" in str(held_back("weekly-scorecards", settings, engine, MONDAY_0900))
    assert (
        fire("weekly-scorecards", settings, engine, job_client(settings), lambda: MONDAY_0900)
        is None
    )
    asked = settings.model_copy(update={"demo_send": True})
    assert demo_refusal(asked, engine) is None
    assert demo_refusal(jobs.settings, jobs.engine) is None  # the configured database
    engine.dispose()


def test_prm_demo_marks_its_database(tmp_path: Path):
    from zoneinfo import ZoneInfo

    built = build_demo(
        tmp_path / "demo.db",
        partners=2,
        seed=7,
        end=datetime(2026, 11, 2, tzinfo=UTC),
        tz=ZoneInfo("UTC"),
    )
    try:
        assert is_demo(built.engine)
    finally:
        built.engine.dispose()


def test_prm_jobs_run_by_hand_is_the_explicit_ask_on_a_demo_database(cli, tmp_path: Path):
    engine = get_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    mark_demo(engine)
    engine.dispose()
    env = {"PRM_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "SLACK_BOT_TOKEN": "xoxb-x"}
    out = cli("jobs", "run", "deal-expiry", env=env)
    assert out.exit_code == 0, out.output
    assert "built by `prm demo`" in out.output  # said, on stderr
    out = cli("jobs", "run", "deal-expiry", "--dry-run", env=env)
    assert out.exit_code == 0, out.output


def test_prm_serve_keeps_the_scheduler_off_on_a_demo_database(jobs, tmp_path: Path, caplog):
    from bot.cli import serve_cmd

    engine = get_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    mark_demo(engine)
    settings = job_settings(str(engine.url), jobs.fake)
    with caplog.at_level("WARNING", logger="bot.cli.serve"):
        serve_cmd._start_scheduler(settings, engine)
    assert "scheduler off" in caplog.text and "PRM_DEMO_SEND" in caplog.text
    engine.dispose()
