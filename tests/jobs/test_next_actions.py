"""next-actions: the right tip, to the right rep, at the right local time, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.slack.ids import NUDGE_REGISTER_DEAL, NUDGE_STOP
from bot.store.tables import Partner, PartnerUser
from tests.jobs.conftest import JA_REP, NY_REP, TOKYO_REP, job_settings
from tests.slack.payloads import japanese_share, words

TOKYO_MORNING = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 11:00 Tokyo, 21:00 New York
NY_MORNING = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)  # 00:30 Tokyo, 10:30 New York


def dm_to(jobs, user: str) -> list:
    channel = jobs.fake._dm_channel(user)  # the fake's stable DM id for that user
    return [c for c in jobs.fake.calls_to("chat.postMessage") if c.params["channel"] == channel]


def test_each_rep_gets_their_one_next_action_in_their_own_morning(jobs):
    summary = jobs.run("next-actions", TOKYO_MORNING)
    assert summary["sent"] == 2  # the two Tokyo reps; New York is at 21:00, quiet hours
    tokyo = words(dm_to(jobs, TOKYO_REP)[0].params)
    assert "オンボーディング資料" in tokyo and "Partner guide" in tokyo  # Slack locale ja-JP
    ja = dm_to(jobs, JA_REP)[0].params
    assert "案件登録" in words(ja) and japanese_share(words(ja)) > 0.4  # stored locale ja
    buttons = [
        e["action_id"] for b in ja["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert NUDGE_REGISTER_DEAL in buttons and NUDGE_STOP in buttons
    assert dm_to(jobs, NY_REP) == []

    summary = jobs.run("next-actions", NY_MORNING)
    assert summary["sent"] == 1
    ny = words(dm_to(jobs, NY_REP)[0].params)
    assert "log in to the partner portal" in ny and "Your guide: <https://x/deck|Sales deck>" in ny


def test_a_rerun_sends_nothing_more(jobs):
    jobs.run("next-actions", TOKYO_MORNING)
    again = jobs.run("next-actions", TOKYO_MORNING + timedelta(hours=1))
    assert again.get("sent", 0) == 0
    assert len(jobs.fake.calls_to("chat.postMessage")) == 2


def test_at_most_one_nudge_per_seven_days(jobs):
    jobs.run("next-actions", TOKYO_MORNING)
    for day in range(1, 7):
        assert jobs.run("next-actions", TOKYO_MORNING + timedelta(days=day)).get("sent", 0) == 0
    assert jobs.run("next-actions", TOKYO_MORNING + timedelta(days=7))["sent"] == 2


def test_quiet_hours_wait_for_the_next_allowed_time(jobs):
    late = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # 21:00 Tokyo, 07:00 New York
    summary = jobs.run("next-actions", late)
    assert summary.get("sent", 0) == 0 and summary["skipped:not_now"] == 3
    # The next morning in Tokyo, they go out.
    assert jobs.run("next-actions", late + timedelta(hours=14))["sent"] == 2


def test_the_conversation_is_opened_once(jobs):
    jobs.run("next-actions", TOKYO_MORNING)
    jobs.run("next-actions", TOKYO_MORNING + timedelta(days=7))
    opened = [c.params["users"] for c in jobs.fake.calls_to("conversations.open")]
    assert sorted(opened) == sorted({JA_REP, TOKYO_REP})


def test_opt_out_and_back_in(jobs):
    with jobs.engine.begin() as conn:
        conn.execute(
            update(PartnerUser)
            .where(PartnerUser.key == "globex-ja")
            .values(tips_off_at=TOKYO_MORNING)
        )
    summary = jobs.run("next-actions", TOKYO_MORNING)
    assert summary["sent"] == 1 and summary["skipped:opted_out"] == 1
    with jobs.engine.begin() as conn:
        conn.execute(
            update(PartnerUser).where(PartnerUser.key == "globex-ja").values(tips_off_at=None)
        )
    assert jobs.run("next-actions", TOKYO_MORNING + timedelta(hours=1))["sent"] == 1


def test_stop_after_three_nudges_without_progress(jobs):
    for week in range(3):
        jobs.run("next-actions", TOKYO_MORNING + timedelta(days=7 * week))
    fourth = jobs.run("next-actions", TOKYO_MORNING + timedelta(days=21))
    assert fourth.get("sent", 0) == 0 and fourth["skipped:no_progress"] == 2


def test_progress_breaks_the_streak(jobs):
    from tests.builders import Store

    for week in range(3):
        jobs.run("next-actions", TOKYO_MORNING + timedelta(days=7 * week))
    # The Tokyo rep finally opens the guide: progress on what they were nudged toward.
    Store(jobs.engine).event(
        "content.downloaded", TOKYO_MORNING + timedelta(days=15), "acme", "acme-tokyo", "guide"
    )
    summary = jobs.run("next-actions", TOKYO_MORNING + timedelta(days=21))
    assert summary["sent"] == 1  # Tokyo rep's next action is now a lead


def test_holdout_reps_get_nothing_but_are_recorded(db_url, engine, jobs):
    jobs.settings = job_settings(db_url, jobs.fake, holdout_share=1.0)
    summary = jobs.run("next-actions", TOKYO_MORNING)
    assert summary.get("sent", 0) == 0 and summary["holdout"] == 2
    assert jobs.fake.calls_to("chat.postMessage") == []
    holdout = [r for r in jobs.ledger() if r["status"] == "holdout"]
    assert {r["action"] for r in holdout} == {"onboarding_content", "first_deal"}
    # The holdout keeps the same cadence: nothing more within the week.
    assert jobs.run("next-actions", TOKYO_MORNING + timedelta(days=1)).get("holdout", 0) == 0


def test_reps_without_slack_go_to_the_partner_channel_or_are_undeliverable(jobs):
    summary = jobs.run("next-actions", TOKYO_MORNING)
    assert summary["undeliverable"] == 1
    assert [r["recipient"] for r in jobs.ledger() if r["status"] == "undeliverable"] == [
        "initech-nochan"
    ]
    with jobs.engine.begin() as conn:
        conn.execute(
            update(Partner).where(Partner.key == "initech").values(slack_channel_id="CINITECH")
        )
    noon = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)  # 11:00 in the reporting zone (UTC)
    jobs.run("next-actions", noon)
    posted = [
        c for c in jobs.fake.calls_to("chat.postMessage") if c.params["channel"] == "CINITECH"
    ]
    # One batched message for the shared channel, naming the rep (bot.slack.nudges).
    assert len(posted) == 1 and "*Ivan*: log in" in words(posted[0].params)
    assert "Next steps for the Initech KK team" in words(posted[0].params)


def test_a_permanent_error_for_one_rep_is_recorded_and_the_run_goes_on(jobs):
    jobs.fake.fail_next("chat.postMessage", "account_inactive")
    summary = jobs.run("next-actions", TOKYO_MORNING)
    assert summary["failed:account_inactive"] == 1 and summary["sent"] == 1
    failed = [r for r in jobs.ledger() if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error"] == "account_inactive"
    # Not retried: a permanent error stays recorded.
    assert jobs.run("next-actions", TOKYO_MORNING + timedelta(hours=1)).get("sent", 0) == 0


def test_a_429_storm_is_waited_out(jobs, monkeypatch):
    monkeypatch.setattr("random.random", lambda: 0.0)  # slack_sdk adds random() to Retry-After
    jobs.fake.rate_limit_next("chat.postMessage", retry_after=0, times=6)
    summary = jobs.run("next-actions", TOKYO_MORNING)
    assert summary["sent"] == 2
    delivered = [c for c in jobs.fake.calls_to("chat.postMessage")]
    assert len(delivered) == 8  # 6 refusals, then each of the two once


def test_dry_run_sends_and_records_nothing(jobs):
    lines: list[str] = []
    from bot.jobs.registry import run_job
    from bot.slack.client import job_client

    summary = run_job(
        "next-actions",
        jobs.settings,
        jobs.engine,
        TOKYO_MORNING,
        client=job_client(jobs.settings),
        dry_run=True,
        echo=lines.append,
    )
    assert summary["would_send"] == 2
    assert {c.method for c in jobs.fake.calls} == {"users.info"}  # reads only
    assert jobs.ledger() == []
    assert any("UJAREP" in line for line in lines)


def test_the_schedule_waits_for_ten_local_but_a_run_by_hand_does_not(jobs):
    from bot.jobs.scheduler import fire
    from bot.slack.client import job_client

    nine_tokyo = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # 09:00 Tokyo, 19:00 New York
    scheduled = fire(
        "next-actions", jobs.settings, jobs.engine, job_client(jobs.settings), lambda: nine_tokyo
    )
    # New York is past 10:00 (19:00) and gets theirs; Tokyo (09:00) waits for 10:00.
    assert scheduled["sent"] == 1 and scheduled["skipped:not_now"] == 2
    by_hand = jobs.run("next-actions", nine_tokyo)
    assert by_hand["sent"] == 2  # by hand, Tokyo's 09:00 is fine: it is not quiet hours
