"""Partner channels are shared spaces: reps reachable only in their partner's channel get
ONE message per channel and run, a line each, worded for everyone to read; through the
ledger, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.jobs.registry import run_job
from bot.store.tables import Partner, PartnerUser
from tests.builders import Store
from tests.jobs.conftest import job_settings
from tests.slack.payloads import japanese_share, words

NOON = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)  # 11:00 in the reporting zone (UTC)


def with_channel(jobs, locale: str | None = None) -> None:
    with jobs.engine.begin() as conn:
        conn.execute(
            update(Partner).where(Partner.key == "initech").values(slack_channel_id="CINITECH")
        )
    s = Store(jobs.engine)
    s.user("initech-jo", "initech", "2025-06-05", name="Jordan Baker", locale=locale)
    s.user("initech-kim", "initech", "2025-06-05", name="Kim", locale=locale)
    s.event("user.login", "2025-07-01T09:00:00Z", "initech", "initech-jo")
    s.event("content.downloaded", "2025-07-01T10:00:00Z", "initech", "initech-jo", "guide")
    s.events("lead.registered", ["2026-10-01T09:00:00Z"] * 2, "initech", "initech-jo")


def channel_posts(jobs) -> list:
    return [c for c in jobs.fake.calls_to("chat.postMessage") if c.params["channel"] == "CINITECH"]


def test_one_message_per_channel_with_a_line_per_rep(jobs):
    with_channel(jobs)
    summary = jobs.run("next-actions", NOON)
    (post,) = channel_posts(jobs)
    text = words(post.params)
    assert "Next steps for the Initech KK team" in text
    assert "*Ivan*: log in to the partner portal" in text
    assert "*Kim*: log in to the partner portal" in text
    assert "*Jordan Baker*: turn a lead into a deal registration" in text
    # A shared space: nobody is told in public what they have not done.
    assert "haven't" not in text and "For Ivan" not in text
    assert summary["channel_reps"] == 3
    rows = [r for r in jobs.ledger() if r["recipient"] == "CINITECH"]
    assert sorted((r["kind"], r["status"]) for r in rows) == [
        ("channel_nudge", "sent"),
        ("nudge", "sent"),
        ("nudge", "sent"),
        ("nudge", "sent"),
    ]
    assert [r["key"] for r in rows if r["kind"] == "channel_nudge"] == [
        "next-actions:channel:CINITECH:2026-11-02"
    ]


def test_the_channel_message_goes_once_and_the_reps_caps_hold(jobs):
    with_channel(jobs)
    jobs.run("next-actions", NOON)
    jobs.run("next-actions", NOON + timedelta(hours=1))  # the same day
    jobs.run("next-actions", NOON + timedelta(days=1))  # within the 7-day cap
    assert len(channel_posts(jobs)) == 1
    jobs.run("next-actions", NOON + timedelta(days=8))
    assert len(channel_posts(jobs)) == 2


def test_in_japanese_when_the_reps_read_japanese(jobs, db_url):
    with_channel(jobs, locale="ja")
    with jobs.engine.begin() as conn:  # Ivan too
        conn.execute(
            update(PartnerUser).where(PartnerUser.key == "initech-nochan").values(locale="ja")
        )
    jobs.run("next-actions", NOON)
    (post,) = channel_posts(jobs)
    text = words(post.params)
    assert "Initech KK の皆さまへ" in text and "*Jordan Baker*: リードを案件として登録" in text
    assert japanese_share(text.replace("Jordan Baker", "").replace("Initech KK", "")) > 0.5


def test_a_dry_run_shows_the_one_message_and_sends_nothing(jobs):
    with_channel(jobs)
    seen: list[str] = []
    run_job("next-actions", jobs.settings, jobs.engine, NOON, client=None, dry_run=True,
            echo=seen.append)  # fmt: skip
    assert jobs.fake.calls_to("chat.postMessage") == []
    shown = [line for line in seen if line.startswith("→ CINITECH")]
    assert len(shown) == 1


def test_holdout_reps_are_left_out_of_the_channel_message(jobs, db_url):
    with_channel(jobs)
    jobs.settings = job_settings(db_url, jobs.fake, holdout_share=1.0)
    jobs.run("next-actions", NOON)
    assert channel_posts(jobs) == []
