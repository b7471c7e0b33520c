"""partner-digests: each connected partner's weekly digest in its own shared channel, on
its own local Monday, once a week, with only its own data."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import update

from bot.jobs.registry import JOBS
from bot.store import teams
from bot.store.tables import Partner
from tests.builders import Store
from tests.jobs.conftest import JA_REP, NY_REP, TOKYO_REP, job_settings
from tests.slack.payloads import japanese_share, words

JOB = "partner-digests"
MONDAY = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # ISO week 2026-W45; 09:30 in London/UTC
HOSTILE = "*bold* <!channel> <@U1>"
OCCURRENCE = {"occurrence": "2026-11-02T09:15"}  # a scheduled tick (vs a run by hand)


def connect(jobs, key: str, channel: str, tz: str | None = None, **values) -> None:
    with jobs.engine.begin() as conn:
        conn.execute(
            update(Partner)
            .where(Partner.key == key)
            .values(slack_channel_id=channel, timezone=tz, **values)
        )


def posts(jobs, channel: str | None = None) -> list:
    return [
        c
        for c in jobs.fake.calls_to("chat.postMessage")
        if channel is None or c.params["channel"] == channel
    ]


def text_of(call) -> str:
    return words(call.params)


def busy_week(jobs) -> None:
    """acme's week: a lead, a deal registered with its value, a win."""
    s = Store(jobs.engine)
    s.event("lead.registered", "2026-10-28T09:00:00Z", "acme", "acme-tokyo")
    s.event("deal.registered", "2026-10-29T09:00:00Z", "acme", "acme-tokyo", "D-1",
            amount=Decimal("1200000"))  # fmt: skip
    s.event("deal.won", "2026-10-30T09:00:00Z", "acme", "acme-tokyo", "D-1",
            amount=Decimal("1200000"))  # fmt: skip


def test_the_job_is_registered_hourly_around_monday_and_timed_locally(jobs):
    job = JOBS[JOB]
    assert job.cron(jobs.settings) == "15 * * * sun,mon,tue"
    assert job.local_time
    assert jobs.settings.partner_digest_hour == 9


def test_each_connected_partner_gets_one_digest_with_only_its_own_name_and_figures(jobs):
    with jobs.engine.begin() as conn:
        conn.execute(update(Partner).where(Partner.key == "acme").values(name=HOSTILE))
    connect(jobs, "acme", "CACME", "Europe/London")
    connect(jobs, "globex", "CGLOBEX")  # no zone: PRM_TIMEZONE (UTC)
    busy_week(jobs)
    summary = jobs.run(JOB, MONDAY, **OCCURRENCE)
    assert summary == {"sent": 2, "skipped:no_channel": 1}  # initech has no channel
    (acme,) = posts(jobs, "CACME")
    (globex,) = posts(jobs, "CGLOBEX")
    assert len(posts(jobs)) == 2
    a, g = text_of(acme), text_of(globex)
    # The hostile name is text: escaped in mrkdwn, no mention or broadcast made of it.
    # The name is in the header (plain text) only; no mrkdwn field holds a mention of it.
    mrkdwn = str([b for b in acme.params["blocks"] if b["type"] != "header"])
    assert "<!channel>" not in mrkdwn and "<@U1>" not in mrkdwn
    assert acme.params["blocks"][0]["type"] == "header"
    assert HOSTILE in acme.params["blocks"][0]["text"]["text"]
    # Never another partner's name (nor anything of initech, which gets nothing).
    assert "Globex" not in a and "Initech" not in a
    assert "bold" not in g and "Initech" not in g
    # Its own week: 1 lead, 1 deal registered, 1 won, its value.
    assert "1 lead" in a and "1 deal registered" in a and "1 deal won" in a
    assert "Globex" in g  # globex's one rep reads Japanese: its digest is in Japanese
    # The journey: acme has logged in, no one has downloaded yet; that is what comes next.
    assert "3 of 7 steps" in a and "Your next step: Downloaded content" in a
    assert "Download the onboarding guides" in a
    assert a.index("Your next step") < a.index("Your last 7 days")  # leading with it
    # Each rep's next step, mentioned, ranked (onboarding before logging in).
    blocks = str(acme.params["blocks"])
    assert blocks.index(f"<@{TOKYO_REP}>") < blocks.index(f"<@{NY_REP}>")
    assert "read the onboarding guides below" in a and "log in to the partner portal" in a
    # Onboarding content nobody at acme opened: both guides; globex opened the guide.
    assert "Partner guide" in a and "Sales deck" in a
    assert "Sales deck" in g and "Partner guide" not in g
    # Nothing vendor-internal.
    for internal in ("coaching", "worklist", "manager", "holdout", "dormant"):
        assert internal not in a.lower() and internal not in g.lower()
    ledger = {r["key"]: r for r in jobs.ledger()}
    assert set(ledger) == {f"{JOB}:acme:2026-W45", f"{JOB}:globex:2026-W45"}
    assert {r["status"] for r in ledger.values()} == {"sent"}
    assert {r["kind"] for r in ledger.values()} == {"partner_digest"}


def test_a_rerun_sends_nothing(jobs):
    connect(jobs, "acme", "CACME")
    connect(jobs, "globex", "CGLOBEX")
    assert jobs.run(JOB, MONDAY, **OCCURRENCE)["sent"] == 2
    later = MONDAY.replace(hour=12)
    again = jobs.run(JOB, later, occurrence="2026-11-02T12:15")
    assert again == {"duplicate": 2, "skipped:no_channel": 1}
    assert jobs.run(JOB, later) == again  # by hand too: once per partner and local week
    assert len(posts(jobs)) == 2
    assert len(jobs.ledger()) == 2


def test_each_partner_is_due_on_its_own_monday_morning(jobs):
    connect(jobs, "acme", "CACME", "Asia/Tokyo")
    connect(jobs, "globex", "CGLOBEX", "America/New_York")
    ticks = [
        # Sunday 23:15 UTC: Monday 08:15 in Tokyo (quiet hours end at 08:00; before 09:00).
        (datetime(2026, 11, 1, 23, 15, tzinfo=UTC), {"skipped:not_now": 2}),
        # 00:15 UTC: Monday 09:15 Tokyo (due); Sunday 19:15 New York (not Monday).
        (datetime(2026, 11, 2, 0, 15, tzinfo=UTC), {"sent": 1, "skipped:not_now": 1}),
        # 01:15 UTC: Monday 10:15 Tokyo, already served this week.
        (datetime(2026, 11, 2, 1, 15, tzinfo=UTC), {"duplicate": 1, "skipped:not_now": 1}),
        # 13:15 UTC: Monday 08:15 New York (before the hour); 22:15 Tokyo (quiet hours).
        (datetime(2026, 11, 2, 13, 15, tzinfo=UTC), {"skipped:not_now": 2}),
        # 14:15 UTC: Monday 09:15 New York (due).
        (datetime(2026, 11, 2, 14, 15, tzinfo=UTC), {"sent": 1, "skipped:not_now": 1}),
    ]
    for at, expected in ticks:
        summary = jobs.run(JOB, at, occurrence=at.isoformat())
        assert summary == {**expected, "skipped:no_channel": 1}, at
    assert [c.params["channel"] for c in posts(jobs)] == ["CACME", "CGLOBEX"]
    keys = {r["key"] for r in jobs.ledger()}
    assert keys == {f"{JOB}:acme:2026-W45", f"{JOB}:globex:2026-W45"}


def test_the_scheduler_keeps_quiet_hours_and_mondays_a_run_by_hand_sends_now(jobs):
    connect(jobs, "acme", "CACME", "Asia/Tokyo")
    connect(jobs, "globex", "CGLOBEX", "Europe/London")
    tuesday = datetime(2026, 11, 3, 10, 15, tzinfo=UTC)  # Tuesday 10:15 London, 19:15 Tokyo
    assert jobs.run(JOB, tuesday, occurrence=tuesday.isoformat()) == {
        "skipped:not_now": 2,
        "skipped:no_channel": 1,
    }
    assert not posts(jobs)
    night = datetime(2026, 11, 2, 21, 15, tzinfo=UTC)  # Monday 21:15 London, 06:15 Tue Tokyo
    assert jobs.run(JOB, night, occurrence=night.isoformat()) == {  # the scheduler: quiet
        "skipped:not_now": 2,
        "skipped:no_channel": 1,
    }
    assert not posts(jobs)
    # By hand, a person decided to post now: quiet hours do not hold them back.
    assert jobs.run(JOB, night) == {"sent": 2, "skipped:no_channel": 1}
    assert sorted(c.params["channel"] for c in posts(jobs)) == ["CACME", "CGLOBEX"]


def test_holdout_reps_are_never_listed(jobs):
    connect(jobs, "acme", "CACME")
    jobs.settings = jobs.settings.model_copy(update={"holdout_share": 1.0})
    assert jobs.run(JOB, MONDAY)["sent"] == 1
    blocks = str(posts(jobs, "CACME")[0].params["blocks"])
    assert TOKYO_REP not in blocks and NY_REP not in blocks
    assert "Next steps for your team" not in blocks
    # Only what the rules and the holdout say: nothing written for the reps.
    assert {r["kind"] for r in jobs.ledger()} == {"partner_digest"}


def test_a_rep_without_slack_is_named_and_the_list_is_capped(jobs):
    connect(jobs, "initech", "CINITECH")
    s = Store(jobs.engine)
    for i in range(7):
        s.user(f"initech-{i}", "initech", "2025-06-05", name=f"Rep {i}")
    jobs.run(JOB, MONDAY)
    (call,) = posts(jobs, "CINITECH")
    text = text_of(call)
    assert "Rep 0" in text and "<@" not in text  # no Slack id: named, not mentioned
    assert "Rep 5" not in text and "…and 3 more people" in text  # 8 reps, 5 shown


def test_japanese_for_a_japanese_team(jobs):
    connect(jobs, "globex", "CGLOBEX", "Asia/Tokyo")  # its one rep reads Japanese
    at = datetime(2026, 11, 2, 0, 15, tzinfo=UTC)
    assert jobs.run(JOB, at, occurrence=at.isoformat())["sent"] == 1
    (call,) = posts(jobs, "CGLOBEX")
    assert f"<@{JA_REP}>" in str(call.params["blocks"])
    assert japanese_share(words(call.params)) > 0.3


def test_posts_with_the_channels_workspace_token(jobs, db_url):
    jobs.settings = job_settings(db_url, jobs.fake, slack_client_id="cid", slack_client_secret="s")
    team = "TACME"
    token = jobs.fake.add_team(team, name="Acme Corp")
    SQLAlchemyInstallationStore(client_id="cid", engine=jobs.engine).save(
        Installation(app_id="A0001", team_id=team, bot_token=token, bot_id="B1",
                     bot_user_id="UBOT", user_id="UINSTALLER")
    )  # fmt: skip
    with jobs.engine.begin() as conn:
        teams.record_install(conn, team, MONDAY)
    connect(jobs, "acme", "CACME", slack_channel_team_id=team)
    connect(jobs, "globex", "CGLOBEX")
    assert jobs.run(JOB, MONDAY)["sent"] == 2
    (acme,) = posts(jobs, "CACME")
    (globex,) = posts(jobs, "CGLOBEX")
    assert acme.team == team
    assert globex.team != team


def test_a_workspace_that_removed_the_bot_gets_nothing(jobs):
    connect(jobs, "acme", "CACME", slack_channel_team_id="TGONE")
    with jobs.engine.begin() as conn:
        teams.record_install(conn, "TGONE", MONDAY)
        teams.record_removed(conn, "TGONE", "app_uninstalled", MONDAY)
    assert jobs.run(JOB, MONDAY) == {"skipped:no_channel": 2, "skipped:uninstalled": 1}
    assert not posts(jobs)


def test_a_dry_run_prints_and_records_nothing(jobs):
    connect(jobs, "acme", "CACME")
    lines: list[str] = []
    from bot.jobs.registry import run_job

    summary = run_job(JOB, jobs.settings, jobs.engine, MONDAY, client=None, dry_run=True,
                      echo=lines.append)  # fmt: skip
    assert summary == {"skipped:no_channel": 2, "would_send": 1}
    assert any("Acme Corp" in ln for ln in lines)
    assert not posts(jobs) and not jobs.ledger()
