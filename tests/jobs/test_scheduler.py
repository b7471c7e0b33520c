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
    assert previous_fire("weekly-scorecards", s, noon) == MONDAY_0900
    # Hourly at :30: each CS owner's digest is due at PRM_DIGEST_HOUR in their own zone.
    assert previous_fire("coaching-alerts", s, noon) == noon - timedelta(minutes=30)
    assert previous_fire("next-actions", s, noon) == noon
    assert grace("weekly-scorecards", MONDAY_0900, s) == timedelta(hours=15)  # until midnight
    assert grace("next-actions", noon, s) == timedelta(hours=1)


def test_scorecards_missed_at_nine_are_sent_once_when_the_bot_comes_back_that_day(jobs):
    back = MONDAY_0900 + timedelta(hours=5, minutes=12)  # the bot was down from 08:00 to 14:12
    client = job_client(jobs.settings)
    first = fire("weekly-scorecards", jobs.settings, jobs.engine, client, lambda: back)
    assert first is not None and first["sent"] == 2
    # A restart an hour later, or a second replica: the occurrence is already claimed.
    again = fire(
        "weekly-scorecards", jobs.settings, jobs.engine, client, lambda: back + timedelta(hours=1)
    )
    assert again is None
    assert len(jobs.fake.calls_to("chat.postMessage")) == 2


def test_a_missed_occurrence_from_yesterday_is_not_caught_up(jobs):
    tuesday = MONDAY_0900 + timedelta(days=1) - timedelta(hours=8)  # Tuesday 01:00
    assert (
        fire(
            "weekly-scorecards",
            jobs.settings,
            jobs.engine,
            job_client(jobs.settings),
            lambda: tuesday,
        )
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
