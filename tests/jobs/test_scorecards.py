"""weekly-scorecards: each manager's book, once a week, with its chart, the same figures as
`prm kpi --manager`, through 429s and failures."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.jobs.registry import run_job
from bot.slack.client import job_client
from tests.builders import Store
from tests.jobs.conftest import MANAGER_A, MANAGER_B
from tests.slack.payloads import japanese_share, words

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # ISO week 2026-W45, schedule zone UTC
PNG = b"\x89PNG\r\n\x1a\n"


def dm(jobs, user: str) -> str:
    return jobs.fake._dm_channel(user)  # the fake's stable DM id for that user


def cards_to(jobs, user: str) -> list:
    return [
        c for c in jobs.fake.calls_to("chat.postMessage") if c.params["channel"] == dm(jobs, user)
    ]


def charts_to(jobs, user: str) -> list:
    """files.completeUploadExternal calls that shared a file into that user's DM."""
    return [
        c
        for c in jobs.fake.calls_to("files.completeUploadExternal")
        if c.params.get("channel_id") == dm(jobs, user)
    ]


def file_ids(call) -> list[str]:
    return [f["id"] for f in json.loads(call.params["files"])]


def busy_week(jobs) -> None:
    """Activity inside the week before MONDAY, so the week-over-week deltas move: both
    of manager A's partners register their first deal; acme downloads and adds a lead.
    Logins in August and September give acme a 3-month retention streak."""
    s = Store(jobs.engine)
    s.event("user.login", "2026-08-15T09:00:00Z", "acme", "acme-tokyo")
    s.event("user.login", "2026-09-15T09:00:00Z", "acme", "acme-tokyo")
    s.event("content.downloaded", "2026-10-27T09:00:00Z", "acme", "acme-tokyo", "guide")
    s.event("lead.registered", "2026-10-28T09:00:00Z", "acme", "acme-tokyo")
    s.event("deal.registered", "2026-10-29T09:00:00Z", "acme", "acme-tokyo")
    s.event("deal.registered", "2026-10-30T09:00:00Z", "globex", "globex-ja")


def test_each_manager_with_a_book_gets_one_scorecard_and_one_chart_in_their_dm(jobs):
    summary = jobs.run("weekly-scorecards", MONDAY)
    assert summary == {"charts": 2, "sent": 2, "skipped:empty_book": 1}
    for manager in (MANAGER_A, MANAGER_B):
        assert len(cards_to(jobs, manager)) == 1
        (chart,) = charts_to(jobs, manager)
        (file_id,) = file_ids(chart)
        assert jobs.fake.uploaded(file_id).startswith(PNG)
        assert "W45" in json.loads(chart.params["files"])[0]["title"]
    # Exactly those: the empty book (hooli is not signed) is never even looked up.
    assert len(jobs.fake.calls_to("chat.postMessage")) == 2
    assert len(jobs.fake.calls_to("files.getUploadURLExternal")) == 2
    assert len(jobs.fake.calls_to("upload_url")) == 2
    assert len(jobs.fake.calls_to("files.completeUploadExternal")) == 2
    assert "UEMPTY" not in {c.params.get("users") for c in jobs.fake.calls_to("conversations.open")}
    assert "UEMPTY" not in {c.params.get("user") for c in jobs.fake.calls_to("users.info")}
    ledger = jobs.ledger()
    assert {(r["recipient"], r["kind"], r["status"]) for r in ledger} == {
        (MANAGER_A, "scorecard", "sent"),
        (MANAGER_A, "chart", "sent"),
        (MANAGER_B, "scorecard", "sent"),
        (MANAGER_B, "chart", "sent"),
    }
    assert {r["key"] for r in ledger if r["kind"] == "scorecard"} == {
        f"weekly-scorecards:{MANAGER_A}:2026-W45",
        f"weekly-scorecards:{MANAGER_B}:2026-W45",
    }


def funnel_lines(text: str) -> list[tuple[int, int]]:
    """(reached, book size) of each journey line of a small book, English or Japanese."""
    text = re.split(r"\*(?:Journey step completion|フローごとの完了率[^*]*)\*", text)[1]
    text = re.split(r"\*(?:Last|直近)", text)[0]
    en = re.findall(r"^• [^:\n]+: ([\d,]+) of ([\d,]+) ", text, re.M)
    ja = [(n, total) for total, n in re.findall(r"^• [^:\n]+: ([\d,]+)社中([\d,]+)社 ", text, re.M)]
    return [(int(n.replace(",", "")), int(total.replace(",", ""))) for n, total in en or ja]


def test_the_figures_are_those_of_prm_kpi_manager(jobs, cli):
    busy_week(jobs)
    jobs.run("weekly-scorecards", MONDAY)
    for manager in (MANAGER_A, MANAGER_B):
        result = cli("kpi", "--manager", manager, "--as-of", MONDAY.isoformat(), "--format", "json")
        assert result.exit_code == 0, result.output
        kpi = json.loads(result.output)
        text = words(cards_to(jobs, manager)[0].params)
        size, activated = kpi["cohort_size"], kpi["deals"]["activated"]
        windows = [w for w in kpi["retention"]["windows"] if w["eligible"]]
        if manager == MANAGER_A:
            assert f"*{size} partners*" in text
            assert f"Activated: {activated} of {size} " in text  # a small book: counts
            for w in windows:
                assert f"{w['months']} mo: {w['retained']} of {w['eligible']} " in text
            pipeline = kpi["pipeline"]
            assert f"{pipeline['registered_deals']} deals registered worth $" in text
        else:
            assert f"担当パートナー {size}社" in text
            assert f"アクティベーション: {size}社中{activated}社" in text
            for w in windows:
                assert f"{w['months']}ヶ月: {w['eligible']}社中{w['retained']}社" in text
        steps = kpi["funnel"]["steps"]
        assert funnel_lines(text) == [(s["reached"], size) for s in steps]
    # The figures are not all zeros: the comparison means something.
    a = words(cards_to(jobs, MANAGER_A)[0].params)
    assert "This week: 2 deals registered" in a and "Activated: 2 of 2" in a
    assert "3 mo: 1 of 2" in a


def test_week_over_week_deltas_show_what_changed_in_the_week(jobs):
    busy_week(jobs)
    jobs.run("weekly-scorecards", MONDAY)
    text = words(cards_to(jobs, MANAGER_A)[0].params)
    assert "*2 partners* ＝" in text  # the book itself did not change
    # Flows: this week's against last week's.
    assert "This week: 2 deals registered ▲ 2 · 1 download ▲ 1" in text  # singular
    # Two partners: counts and their change, never "100.0 % ▲ 100.0 pt".
    assert "Activated: 2 of 2 ▲ 2" in text
    assert "Registered a deal: 2 of 2 ▲ 2" in text
    assert "Downloaded content: 2 of 2 ▲ 1" in text
    assert " pt" not in text.split("*Do the bot")[0]
    assert "*Newly activated this week 🎉* (2): Acme Corp, Globex" in text
    assert "Last push" not in text  # both activated now
    # Manager B's book did not move: no arrows, only "＝".
    b = words(cards_to(jobs, MANAGER_B)[0].params)
    assert "▲" not in b and "▼" not in b and "＝" in b


def test_a_rerun_in_the_same_iso_week_sends_nothing_the_next_week_sends_again(jobs):
    jobs.run("weekly-scorecards", MONDAY)
    # Up to Sunday 10:00 UTC: still W45 in London and in Tokyo (the keys are local weeks).
    for later in (timedelta(hours=1), timedelta(days=3), timedelta(days=6, hours=1)):
        again = jobs.run("weekly-scorecards", MONDAY + later)
        assert again.get("sent", 0) == 0 and again.get("charts", 0) == 0
        assert again["duplicate"] == 2
    assert len(jobs.fake.calls_to("chat.postMessage")) == 2
    assert len(jobs.fake.calls_to("files.completeUploadExternal")) == 2

    next_week = jobs.run("weekly-scorecards", MONDAY + timedelta(days=7))
    assert next_week["sent"] == 2 and next_week["charts"] == 2
    for manager in (MANAGER_A, MANAGER_B):
        assert len(cards_to(jobs, manager)) == 2 and len(charts_to(jobs, manager)) == 2
    assert f"weekly-scorecards:{MANAGER_A}:2026-W46" in {r["key"] for r in jobs.ledger()}


def test_a_burst_of_429s_still_delivers_one_scorecard_and_one_chart_each(jobs, monkeypatch):
    monkeypatch.setattr("random.random", lambda: 0.0)  # slack_sdk adds random() to Retry-After
    jobs.fake.rate_limit_next("chat.postMessage", retry_after=0, times=5)
    jobs.fake.rate_limit_next("files.completeUploadExternal", retry_after=0, times=5)
    summary = jobs.run("weekly-scorecards", MONDAY)
    assert summary == {"charts": 2, "sent": 2, "skipped:empty_book": 1}
    # Five refusals, then each manager's message once; the same for sharing the chart.
    assert len(jobs.fake.calls_to("chat.postMessage")) == 5 + 2
    assert len(jobs.fake.calls_to("files.completeUploadExternal")) == 5 + 2
    assert len(jobs.fake.calls_to("files.getUploadURLExternal")) == 2  # uploaded once each
    # Manager A comes first and takes the refusals; both end up with one card and one chart.
    assert len(cards_to(jobs, MANAGER_A)) == 6 and len(cards_to(jobs, MANAGER_B)) == 1
    assert len(charts_to(jobs, MANAGER_A)) == 6 and len(charts_to(jobs, MANAGER_B)) == 1
    assert {r["status"] for r in jobs.ledger()} == {"sent"} and len(jobs.ledger()) == 4
    assert jobs.run("weekly-scorecards", MONDAY + timedelta(hours=1)).get("sent", 0) == 0
    assert len(jobs.fake.calls_to("chat.postMessage")) == 7


def test_a_permanent_error_for_one_manager_is_recorded_and_the_other_still_gets_theirs(jobs):
    jobs.fake.fail_next("chat.postMessage", "account_inactive")  # manager A comes first
    summary = jobs.run("weekly-scorecards", MONDAY)
    assert summary["failed:account_inactive"] == 1
    assert summary["sent"] == 1 and summary["charts"] == 1
    failed = [r for r in jobs.ledger() if r["status"] == "failed"]
    assert [(r["recipient"], r["kind"], r["error"]) for r in failed] == [
        (MANAGER_A, "scorecard", "account_inactive")
    ]
    assert charts_to(jobs, MANAGER_A) == []  # no chart under a message that never arrived
    assert len(cards_to(jobs, MANAGER_B)) == 1 and len(charts_to(jobs, MANAGER_B)) == 1
    # A permanent error is not retried by the next run.
    again = jobs.run("weekly-scorecards", MONDAY + timedelta(hours=1))
    assert again.get("sent", 0) == 0 and again.get("charts", 0) == 0
    assert len(jobs.fake.calls_to("chat.postMessage")) == 2


def test_a_failed_chart_is_uploaded_by_the_next_run_without_resending_the_message(jobs):
    jobs.fake.fail_next("files.completeUploadExternal", "service_unavailable")  # manager A's
    summary = jobs.run("weekly-scorecards", MONDAY)
    assert summary["sent"] == 2 and summary["charts"] == 1
    assert summary["chart:retry:service_unavailable"] == 1
    chart_rows = {r["recipient"]: r for r in jobs.ledger() if r["kind"] == "chart"}
    assert chart_rows[MANAGER_A]["status"] == "retry"

    again = jobs.run("weekly-scorecards", MONDAY + timedelta(hours=1))
    assert again.get("sent", 0) == 0 and again["charts"] == 1
    assert len(cards_to(jobs, MANAGER_A)) == 1  # the message was not sent twice
    shared = charts_to(jobs, MANAGER_A)
    assert len(shared) == 2  # the failed attempt, then the retry into the same DM
    assert jobs.fake.uploaded(file_ids(shared[-1])[0]).startswith(PNG)
    assert len(charts_to(jobs, MANAGER_B)) == 1
    rows = {(r["recipient"], r["kind"]): r for r in jobs.ledger()}
    assert rows[(MANAGER_A, "chart")]["status"] == "sent"
    assert rows[(MANAGER_A, "chart")]["attempts"] == 2
    # And now it is done: nothing more.
    third = jobs.run("weekly-scorecards", MONDAY + timedelta(hours=2))
    assert third.get("sent", 0) == 0 and third.get("charts", 0) == 0


def test_a_chart_upload_that_may_have_happened_is_never_uploaded_again(jobs):
    # internal_error: Slack says the file may have been shared anyway.
    jobs.fake.fail_next("files.completeUploadExternal", "internal_error")  # manager A's
    summary = jobs.run("weekly-scorecards", MONDAY)
    assert summary["sent"] == 2 and summary["chart:ambiguous:internal_error"] == 1
    for hours in (1, 2):
        again = jobs.run("weekly-scorecards", MONDAY + timedelta(hours=hours))
        assert again.get("sent", 0) == 0 and again.get("charts", 0) == 0
    assert len(charts_to(jobs, MANAGER_A)) == 1  # the one attempt, never repeated
    rows = {(r["recipient"], r["kind"]): r for r in jobs.ledger()}
    assert rows[(MANAGER_A, "chart")]["status"] == "ambiguous"


def test_a_japanese_manager_reads_japanese_an_english_one_english(jobs):
    busy_week(jobs)
    jobs.run("weekly-scorecards", MONDAY)
    ja = words(cards_to(jobs, MANAGER_B)[0].params)  # Slack locale ja-JP
    assert "週次パートナースコアカード" in ja and "継続利用率" in ja and "案件登録" in ja
    assert "Retention" not in ja and "partners" not in ja
    assert japanese_share(ja) > 0.5
    en = words(cards_to(jobs, MANAGER_A)[0].params)  # Slack locale en-GB
    assert "Weekly partner scorecard" in en and "Retention" in en
    assert "継続利用率" not in en and japanese_share(en) == 0


def test_dry_run_sends_nothing_and_records_nothing(jobs):
    summary = jobs.run("weekly-scorecards", MONDAY, dry_run=True)
    assert summary == {"skipped:empty_book": 1, "would_send": 2}
    assert jobs.fake.calls == [] and jobs.ledger() == []

    lines: list[str] = []  # with a client, a dry run may read Slack, never write to it
    summary = run_job(
        "weekly-scorecards",
        jobs.settings,
        jobs.engine,
        MONDAY,
        client=job_client(jobs.settings),
        dry_run=True,
        echo=lines.append,
    )
    assert summary["would_send"] == 2
    assert {c.method for c in jobs.fake.calls} <= {"users.info"}
    assert jobs.ledger() == []
    printed = "\n".join(lines)
    assert MANAGER_A in printed and MANAGER_B in printed and "+ chart" in printed
    assert "継続利用率" in printed and "Retention" in printed
    # The real run afterwards still sends: the dry run took no key.
    assert jobs.run("weekly-scorecards", MONDAY)["sent"] == 2


SUNDAY_2300 = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)  # Monday 08:00 in Tokyo


def scheduled(jobs, now: datetime) -> dict:
    """A run of the schedule's hourly tick (an occurrence claimed, like the scheduler's)."""
    summary = jobs.run("weekly-scorecards", now, occurrence=now.isoformat())
    assert summary is not None
    return summary


def test_on_the_schedule_each_manager_gets_it_on_their_own_monday_morning_once(jobs):
    # Sunday 23:00 UTC: Tokyo's Monday 08:00, before PRM_SCORECARD_HOUR (9): nobody yet.
    assert scheduled(jobs, SUNDAY_2300).get("sent", 0) == 0
    # Monday 00:00 UTC: 09:00 in Tokyo (manager B); London is asleep (quiet hours).
    first = scheduled(jobs, SUNDAY_2300 + timedelta(hours=1))
    assert first["sent"] == 1 and first["skipped:not_now"] == 1
    assert len(cards_to(jobs, MANAGER_B)) == 1 and cards_to(jobs, MANAGER_A) == []
    # The hours between: B is done for the week, A's morning has not come.
    for hour in range(2, 9):
        tick = scheduled(jobs, SUNDAY_2300 + timedelta(hours=hour))
        assert tick.get("sent", 0) == 0
    # Monday 09:00 UTC: 09:00 in London (winter time): manager A; B is not sent twice.
    london = scheduled(jobs, MONDAY)
    assert london["sent"] == 1 and london["duplicate"] == 1
    assert len(cards_to(jobs, MANAGER_A)) == 1 and len(cards_to(jobs, MANAGER_B)) == 1
    # Every later tick that week sends nothing; Monday 20:00 London is in quiet hours.
    for later in (timedelta(hours=1), timedelta(hours=11), timedelta(days=1, hours=1)):
        assert scheduled(jobs, MONDAY + later).get("sent", 0) == 0
    assert len(jobs.fake.calls_to("chat.postMessage")) == 2
    keys = {r["key"] for r in jobs.ledger() if r["kind"] == "scorecard"}
    assert keys == {
        f"weekly-scorecards:{MANAGER_A}:2026-W45",
        f"weekly-scorecards:{MANAGER_B}:2026-W45",
    }


def test_a_scheduled_tuesday_sends_nothing_and_a_run_by_hand_keeps_quiet_hours(jobs):
    assert scheduled(jobs, MONDAY + timedelta(days=1)).get("sent", 0) == 0  # Tuesday
    late = MONDAY + timedelta(hours=12)  # 21:00 London, Tuesday 06:00 Tokyo: both quiet
    by_hand = jobs.run("weekly-scorecards", late)
    assert by_hand.get("sent", 0) == 0 and by_hand["skipped:not_now"] == 2
    assert jobs.fake.calls_to("chat.postMessage") == []


def big_book(jobs) -> None:
    """Manager A's book grows to 6 partners, 2 of them activated this week."""
    s = Store(jobs.engine)
    for key in ("p1", "p2", "p3", "p4"):
        s.partner(key, "2025-02-01", name=key.upper(), manager=MANAGER_A)
    s.event("deal.registered", "2026-10-29T09:00:00Z", "acme", None, "D-1", amount=Decimal(12000))
    s.event("deal.registered", "2026-10-30T09:00:00Z", "globex", None, "D-2", amount=Decimal(3000))
    s.event("deal.won", "2026-10-31T09:00:00Z", "acme", None, "D-1", amount=Decimal(12000))
    s.event("deal.registered", "2026-10-08T09:00:00Z", "acme", None, "D-0", amount=Decimal(500))


def test_a_book_of_five_or_more_shows_rates_with_counts_trends_and_pipeline_money(jobs):
    big_book(jobs)
    jobs.run("weekly-scorecards", MONDAY)
    text = words(cards_to(jobs, MANAGER_A)[0].params)
    assert "*6 partners* ＝" in text
    # Six partners: the rate, its counts, and its change in points (acme was active before).
    assert "Activated: 33.3 % (2 of 6) ▲ 16.7 pt" in text
    assert "Signed: 100.0 % (6 of 6) ＝" in text
    assert "Won a deal: 0.0 % (0 of 6) ＝ ← bottleneck" in text
    # Flows: this week's money against last week's (none), in the program's currency.
    assert "Pipeline this week: $15,000 registered ▲ $15,000 · $12,000 won ▲ $12,000" in text
    # Eight weeks, oldest first: one deal four weeks ago, two this week.
    assert "*Last 8 weeks*" in text
    assert "Deals registered `▁▁▁▁▅▁▁█` 3 in all, 2 this week" in text
    assert "Partners registering deals `▁▁▁▁▅▁▁█` 2 this week" in text
    # The period's pipeline: amounts and win rate.
    assert "3 deals registered worth $15,500 · 1 deal won worth $12,000 · win rate 33.3 %" in text


def test_pipeline_and_trends_in_japanese_with_yen_style_money(jobs):
    big_book(jobs)
    s = Store(jobs.engine)
    s.event(
        "deal.registered", "2026-10-29T09:00:00Z", "initech", None, "J-1", amount=Decimal(2500000)
    )
    jobs.run("weekly-scorecards", MONDAY)
    ja = words(cards_to(jobs, MANAGER_B)[0].params)
    assert "今週の案件金額: 登録 $2,500,000 ▲ $2,500,000 · 受注 $0 ＝" in ja
    assert "*直近8週間の推移*" in ja and "案件登録 `▁▁▁▁▁▁▁█` 計1件、今週1件" in ja
    assert "案件登録のあったパートナー `▁▁▁▁▁▁▁█` 今週1社" in ja
    assert "アクティベーション: 1社中1社 ▲ 1" in ja  # one partner: counts, no percentage
    assert "%" not in ja.split("*案件金額")[0].split("*直近")[0]
    assert japanese_share(ja) > 0.4


def test_empty_sections_are_left_out(jobs):
    jobs.run("weekly-scorecards", MONDAY)
    b = words(cards_to(jobs, MANAGER_B)[0].params)
    assert "0社中0社" not in b and "—" not in b.split("*対応リスト*")[0]
    assert "案件金額(登録・受注)" not in b  # no deal in the period: no pipeline section
    assert "ボットのヒント" not in b and "tips" not in b  # nobody nudged: no nudge_lift line
    a = words(cards_to(jobs, MANAGER_A)[0].params)
    assert "(0 of 0)" not in a and "0 of 0" not in a
    assert "Do the bot's tips work?" not in a and "Pipeline this week" not in a


def test_the_chart_is_labelled_in_the_readers_language(jobs, monkeypatch):
    from bot.jobs import scorecards

    seen: dict[str, object] = {}

    def fake_png(steps, retention, labels):
        seen[labels.title] = labels
        return PNG

    monkeypatch.setattr(scorecards, "scorecard_png", fake_png)
    jobs.run("weekly-scorecards", MONDAY)
    en, ja = seen["Partner scorecard 2026-W45"], seen["パートナースコアカード 2026-W45"]
    assert en.step("logged_in") == "Logged in" and en.window(3) == "3 months"
    assert ja.step("logged_in") == "ログイン" and ja.window(3) == "3ヶ月"
    assert ja.funnel == "各ステップに到達したパートナー" and ja.bottleneck == "ボトルネック"
    assert ja.bottleneck_step == "logged_in"  # manager B's book is stuck at logging in


def test_rates_under_five_partners_are_counts_and_sparklines_scale_to_the_top_week():
    from bot.domain.scorecard import share, sparkline

    small = share(2, 4, 1, 4)
    assert small["small"] and small["count_change"]["change"] == 1
    big = share(2, 5, 1, 5)
    assert not big["small"] and round(big["change"], 3) == 0.2
    assert share(0, 0, None, None)["now"] is None  # nobody eligible: no rate at all
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█" and sparkline([0, 0]) == "▁▁"
