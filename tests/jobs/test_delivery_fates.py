"""What each kind of Slack failure does to a message: sent once, retried until Slack takes
it, or — when nobody can know whether Slack posted it — recorded as ambiguous and never
sent again by itself (only by hand). Against the fake Slack's real failure modes:
timeouts, dropped connections, outage pages, `internal_error`, a port that refuses."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient

from bot.jobs.history import problems, resend
from bot.slack.client import Clients, web_client
from bot.slack.outbox import drain
from tests.jobs.conftest import MANAGER_A, MANAGER_B, job_settings

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def posts_per_channel(jobs) -> Counter:
    return Counter(c.params["channel"] for c in jobs.fake.calls_to("chat.postMessage"))


def status_of(jobs, recipient: str, kind: str = "scorecard") -> str:
    (row,) = [r for r in jobs.ledger() if r["recipient"] == recipient and r["kind"] == kind]
    return row["status"]


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def assert_never_resent(jobs, recipient: str) -> None:
    """Reruns of the job, the retry worker and a restart all leave it alone."""
    for hours in (1, 2):
        again = jobs.run("weekly-scorecards", MONDAY + timedelta(hours=hours))
        assert again.get("sent", 0) == 0
    clients = Clients(jobs.settings, jobs.engine)
    assert drain(jobs.engine, clients, now=MONDAY, wall=later(60 * 24)) == {}
    assert posts_per_channel(jobs)[jobs.fake._dm_channel(recipient)] == 1
    listed = problems(jobs.engine, datetime.now(UTC), 20)["ambiguous"]
    assert [r["recipient"] for r in listed] == [recipient]


def test_a_post_that_timed_out_after_slack_got_it_is_never_sent_again(jobs):
    jobs.settings = job_settings(jobs.settings.database_url, jobs.fake, slack_timeout_seconds=0.5)
    arrived, release = jobs.fake.hold_next("chat.postMessage")  # manager A's, first
    summary = jobs.run("weekly-scorecards", MONDAY)
    release.set()
    assert arrived.is_set()
    assert summary["ambiguous:TimeoutError"] == 1 and summary["sent"] == 1
    assert status_of(jobs, MANAGER_A) == "ambiguous"
    # Its chart waits for a message that may not be there: never uploaded on its own.
    assert status_of(jobs, MANAGER_A, "chart") == "retry"
    assert_never_resent(jobs, MANAGER_A)


def test_a_dropped_connection_after_the_post_is_not_reposted_by_the_client(jobs):
    jobs.fake.drop_next("chat.postMessage")
    summary = jobs.run("weekly-scorecards", MONDAY)
    assert summary["ambiguous:RemoteDisconnected"] == 1
    # slack_sdk's own ConnectionErrorRetryHandler would have posted it again here.
    assert len(jobs.fake.calls_to("chat.postMessage")) == 2  # one per manager
    assert_never_resent(jobs, MANAGER_A)


def test_internal_error_and_an_outage_page_count_as_maybe_sent(jobs):
    jobs.fake.fail_next("chat.postMessage", "internal_error")  # manager A
    jobs.fake.server_error_next("chat.postMessage", 503)  # manager B
    summary = jobs.run("weekly-scorecards", MONDAY)
    assert summary["ambiguous:internal_error"] == 1 and summary["ambiguous:http_503"] == 1
    for hours in (1, 2):
        assert jobs.run("weekly-scorecards", MONDAY + timedelta(hours=hours)).get("sent", 0) == 0
    assert len(jobs.fake.calls_to("chat.postMessage")) == 2
    listed = problems(jobs.engine, datetime.now(UTC), 20)["ambiguous"]
    assert {r["recipient"] for r in listed} == {MANAGER_A, MANAGER_B}


def test_slack_unreachable_means_retry_and_the_message_arrives_once_it_is_back(jobs):
    jobs.fake.down()
    summary = jobs.run("weekly-scorecards", MONDAY)
    assert summary["retry:unreachable:ConnectionRefusedError"] == 2
    assert {r["status"] for r in jobs.ledger()} == {"retry"}
    clients = Clients(jobs.settings, jobs.engine)
    # Not due yet (backoff), then due but Slack still down: still owed.
    assert drain(jobs.engine, clients, now=MONDAY, wall=datetime.now(UTC)) == {}
    down = drain(jobs.engine, clients, now=MONDAY, wall=later(1))
    # The two messages fail again; their charts wait for them.
    assert down == {"retry:unreachable:ConnectionRefusedError": 2, "retry:waiting_for_message": 2}
    jobs.fake.up()
    assert drain(jobs.engine, clients, now=MONDAY, wall=later(3)) == {"sent": 4}
    assert sorted(posts_per_channel(jobs).values()) == [1, 1]
    assert len(jobs.fake.calls_to("files.completeUploadExternal")) == 2
    assert {r["status"] for r in jobs.ledger()} == {"sent"}
    assert all(r["payload"] is None for r in jobs.ledger())  # nothing kept once sent
    assert drain(jobs.engine, clients, now=MONDAY, wall=later(60)) == {}
    assert jobs.run("weekly-scorecards", MONDAY + timedelta(hours=1)).get("sent", 0) == 0


def test_rate_limited_past_the_clients_patience_waits_for_retry_after(jobs):
    jobs.settings = job_settings(jobs.settings.database_url, jobs.fake)
    client = web_client(jobs.settings, rate_limit_retries=0)
    jobs.fake.rate_limit_next("chat.postMessage", retry_after=120)
    from bot.jobs.registry import run_job

    summary = run_job(
        "weekly-scorecards", jobs.settings, jobs.engine, MONDAY, client=client, echo=print
    )
    assert summary["retry:ratelimited"] == 1
    (row,) = [r for r in jobs.ledger() if r["status"] == "retry" and r["kind"] == "scorecard"]
    assert row["next_attempt_at"] - row["attempted_at"] >= timedelta(seconds=120)
    clients = Clients(jobs.settings, jobs.engine)
    assert "sent" not in drain(jobs.engine, clients, now=MONDAY, wall=later(1))  # not before
    assert drain(jobs.engine, clients, now=MONDAY, wall=later(3))["sent"] == 2  # + its chart


def test_an_ambiguous_message_can_be_resent_by_hand_once(jobs):
    jobs.fake.fail_next("chat.postMessage", "internal_error")
    jobs.run("weekly-scorecards", MONDAY)
    key = problems(jobs.engine, datetime.now(UTC), 20)["ambiguous"][0]["key"]
    clients = Clients(jobs.settings, jobs.engine)
    (done,) = resend(jobs.engine, clients, [key], now=MONDAY, wall=datetime.now(UTC))
    assert done.was == "ambiguous" and done.outcome is not None
    assert done.outcome.status == "sent"
    assert posts_per_channel(jobs)[jobs.fake._dm_channel(MANAGER_A)] == 2  # by hand: again
    assert len(jobs.fake.calls_to("files.completeUploadExternal")) == 2  # its chart followed
    # Sent now: a second resend has nothing to do, nor has the worker.
    (again,) = resend(jobs.engine, clients, [key], now=MONDAY, wall=datetime.now(UTC))
    assert again.was is None
    assert drain(jobs.engine, clients, now=MONDAY, wall=later(2)) == {}
    assert problems(jobs.engine, datetime.now(UTC), 20)["ambiguous"] == []


def test_prm_jobs_resend_on_the_command_line(jobs, cli):
    jobs.fake.fail_next("chat.postMessage", "internal_error")
    jobs.run("weekly-scorecards", MONDAY)
    history = cli("jobs", "history")
    assert "1 ambiguous delivery" in history.output and "prm jobs resend KEY" in history.output
    key = problems(jobs.engine, datetime.now(UTC), 20)["ambiguous"][0]["key"]
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "PRM_SLACK_API_URL": jobs.fake.base_url}
    result = cli("jobs", "resend", key, env=env)
    assert result.exit_code == 0 and f"{key}: sent" in result.output
    unknown = cli("jobs", "resend", "no-such-key", env=env)
    assert unknown.exit_code == 1 and "nothing to resend" in unknown.output


def test_reads_are_retried_after_a_dropped_connection_posts_are_not(jobs):
    client = WebClient(
        token="xoxb-test",
        base_url=jobs.fake.base_url,
        retry_handlers=web_client(jobs.settings).retry_handlers,
    )
    jobs.fake.drop_next("users.info")
    assert client.users_info(user=MANAGER_A)["ok"]
    assert len(jobs.fake.calls_to("users.info")) == 2
    jobs.fake.drop_next("chat.postMessage")
    try:
        client.chat_postMessage(channel="C1", text="hi")
    except Exception as exc:
        assert type(exc).__name__ == "RemoteDisconnected"
    else:
        raise AssertionError("a dropped post must surface, not be retried")
    assert len(jobs.fake.calls_to("chat.postMessage")) == 1


def test_a_failed_upload_of_the_charts_bytes_is_retried_not_doubted(jobs):
    # The bytes go to the upload URL before anything is shared: a 5xx there is plain.
    jobs.fake.server_error_next("upload_url", 502)
    summary = jobs.run("weekly-scorecards", MONDAY)
    assert summary["sent"] == 2 and summary["chart:retry:HTTPError"] == 1
    clients = Clients(jobs.settings, jobs.engine)
    assert drain(jobs.engine, clients, now=MONDAY, wall=later(1)) == {"sent": 1}
    assert len(jobs.fake.calls_to("files.completeUploadExternal")) == 2


def test_a_row_the_worker_is_sending_is_neither_ambiguous_nor_resendable(jobs):
    from bot.store import ledger

    jobs.fake.fail_next("chat.postMessage", "service_unavailable")
    jobs.run("weekly-scorecards", MONDAY)  # the run ends: its retry row outlives it
    (row,) = [r for r in jobs.ledger() if r["status"] == "retry" and r["kind"] == "scorecard"]
    wall = later(1)
    owed = ledger.take(jobs.engine, row["key"], wall)  # the worker takes it, mid-send
    assert owed is not None
    with jobs.engine.connect() as conn:
        assert ledger.ambiguous(conn, wall) == []  # in flight, not in doubt
    with jobs.engine.begin() as conn:
        assert ledger.release(conn, row["key"], wall, wall + timedelta(hours=1)) is None
    assert ledger.take(jobs.engine, row["key"], wall) is None  # and nobody else takes it
    # Were that worker to die, the row would be in doubt once its attempt is old.
    with jobs.engine.connect() as conn:
        assert [r["key"] for r in ledger.ambiguous(conn, wall + timedelta(minutes=11))] == [
            row["key"]
        ]
