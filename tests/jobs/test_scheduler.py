"""The schedule: ids, coalescing, grace, and a missed Monday's scorecards caught up once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.jobs.registry import JOBS
from bot.jobs.scheduler import build_scheduler, catch_up, fire, grace, previous_fire
from bot.slack.client import job_client
from bot.store.runs import claim_run

MONDAY_0900 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_jobs_have_ids_coalesce_one_instance_and_grace(jobs):
    scheduler = build_scheduler(
        jobs.settings, jobs.engine, job_client(jobs.settings), lambda: MONDAY_0900
    )
    by_id = {job.id: job for job in scheduler.get_jobs()}
    assert set(by_id) == set(JOBS)
    for job in by_id.values():
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time > 0
    assert str(by_id["weekly-scorecards"].trigger).startswith("cron[")


def test_previous_fire_and_grace(jobs):
    s = jobs.settings
    noon = MONDAY_0900 + timedelta(hours=3)
    # Hourly around Monday: each manager's scorecard is due at PRM_SCORECARD_HOUR locally.
    assert previous_fire("weekly-scorecards", s, noon) == noon
    # Hourly at :30: each CS owner's digest is due at PRM_DIGEST_HOUR in their own zone.
    assert previous_fire("coaching-alerts", s, noon) == noon - timedelta(minutes=30)
    assert previous_fire("next-actions", s, noon) == noon
    assert grace("weekly-scorecards", MONDAY_0900, s) == timedelta(hours=1)
    assert grace("deal-expiry", MONDAY_0900, s) == timedelta(hours=15)  # until midnight
    assert grace("next-actions", noon, s) == timedelta(hours=1)


def test_scorecards_missed_at_nine_are_sent_once_when_the_bot_comes_back_that_day(jobs):
    # The bot was down from 08:00 to 10:12 (UTC): 10:12 in London, 19:12 in Tokyo.
    back = MONDAY_0900 + timedelta(hours=1, minutes=12)
    client = job_client(jobs.settings)
    first = fire("weekly-scorecards", jobs.settings, jobs.engine, client, lambda: back)
    assert first is not None and first["sent"] == 2
    # A restart minutes later, or a second replica: the occurrence is already claimed.
    again = fire(
        "weekly-scorecards", jobs.settings, jobs.engine, client, lambda: back + timedelta(minutes=9)
    )
    assert again is None
    # The next hourly tick sends nothing: London is served, Tokyo's evening is quiet.
    later = fire(
        "weekly-scorecards", jobs.settings, jobs.engine, client, lambda: back + timedelta(hours=1)
    )
    assert later is not None and later.get("sent", 0) == 0 and later["duplicate"] == 1
    assert len(jobs.fake.calls_to("chat.postMessage")) == 2


def test_a_missed_occurrence_from_yesterday_is_not_caught_up(jobs):
    tuesday = MONDAY_0900 + timedelta(days=1) - timedelta(hours=8)  # Tuesday 01:00
    # Monday's 09:00 occurrence is not caught up; Tuesday's tick finds nobody on a Monday.
    result = fire(
        "weekly-scorecards", jobs.settings, jobs.engine, job_client(jobs.settings), lambda: tuesday
    )
    assert result is not None and result.get("sent", 0) == 0
    assert (
        fire("deal-expiry", jobs.settings, jobs.engine, job_client(jobs.settings), lambda: tuesday)
        is None
    )
    assert jobs.fake.calls_to("chat.postMessage") == []


def test_catch_up_runs_in_the_background(jobs):
    # Not a first start: a run was recorded before the downtime (tests/jobs/test_no_floods.py).
    claim_run(jobs.engine, "deal-expiry", "earlier", MONDAY_0900, MONDAY_0900)
    back = MONDAY_0900 + timedelta(hours=1)
    thread = catch_up(jobs.settings, jobs.engine, job_client(jobs.settings), lambda: back)
    thread.join(timeout=60)
    assert not thread.is_alive()
    managers = {c.params["channel"] for c in jobs.fake.calls_to("chat.postMessage")}
    assert len(managers) >= 2  # the two scorecards, plus whatever else was due
