"""coaching-alerts: whom CS should coach — one alert per condition episode, with the
playbook and Ack / Snooze buttons pressed through the real Slack app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from bot.domain.alerts import Outcome, ack_alert
from bot.handlers.app import build_app
from bot.slack.ids import ALERT_ACK, ALERT_SNOOZE
from bot.store.tables import AlertEpisode, Partner
from bot.web.asgi import create_web_app
from tests.builders import Store
from tests.jobs.conftest import CS, MANAGER_A, JobWorld, job_settings
from tests.slack.conftest import SECRET, _serve, sign
from tests.slack.payloads import button_press, japanese_share, words

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # the default schedule: daily at 09:30
DAY = timedelta(days=1)
ADMIN = "UADMIN"
CS_JA = "UCSJA"

COACHING = "Walter (Northwind) needs coaching"
STUCK = "Stuckley has been stuck for"
DORMANT = "Sleepy Inc has gone dormant"


def journey(s: Store, partner: str, rep: str, at: str) -> None:
    """Every journey step after registration, all at `at`: nothing left to be stuck at."""
    s.event("user.login", at, partner, rep)
    s.event("content.downloaded", at, partner, rep, "guide")
    s.event("lead.registered", at, partner, rep)
    s.event("deal.registered", at, partner, rep)
    s.event("deal.won", at, partner, rep)


def coaching_book(engine) -> None:
    """CS's book, built so that exactly three conditions hold as of NOW:

    - Walter needs coaching: 12 leads, 1 deal (8.3 %) in the 30 days. The reps with ≥ 10
      leads convert at 54.5 % (Stella: 11 leads, 6 deals, her journey's included), 40 %
      (Gus: 10 leads, 4 deals) and 8.3 % (Walter): median 40 %, half of it 20 %.
    - Stuckley downloaded content on 2026-09-05 and never registered a lead (58 days), yet
      logged in on 2026-10-28, so it is not dormant.
    - Sleepy Inc did everything in August and nothing since: dormant.

    The seeded acme and globex (also CS's) hold conditions of their own; they are handed
    to nobody here so that the alerts are exactly these.
    """
    with engine.begin() as conn:
        conn.execute(
            update(Partner).where(Partner.key.in_(["acme", "globex"])).values(cs_slack_id=None)
        )
    s = Store(engine)
    s.partner("north", "2025-01-01", name="Northwind", manager=MANAGER_A, cs=CS)
    s.partner("south", "2025-01-01", name="Southgate", cs=CS)
    s.partner("stuckco", "2025-01-01", name="Stuckley", cs=CS)
    s.partner("sleepy", "2025-01-01", name="Sleepy Inc", cs=CS)
    s.user("north-star", "north", "2025-01-05", name="Stella")
    s.user("north-weak", "north", "2025-01-05", name="Walter")
    s.user("south-good", "south", "2025-01-05", name="Gus")
    s.user("stuck-rep", "stuckco", "2025-01-05", name="Sam")
    s.user("sleepy-rep", "sleepy", "2025-01-05", name="Zed")
    journey(s, "north", "north-star", "2026-10-20T09:00:00Z")
    journey(s, "south", "south-good", "2026-10-20T09:00:00Z")
    s.events("lead.registered", ["2026-10-21T09:00:00Z"] * 10, "north", "north-star")
    s.events("deal.registered", ["2026-10-22T09:00:00Z"] * 5, "north", "north-star")
    s.events("lead.registered", ["2026-10-21T09:00:00Z"] * 12, "north", "north-weak")
    s.events("deal.registered", ["2026-10-22T09:00:00Z"] * 1, "north", "north-weak")
    s.events("lead.registered", ["2026-10-21T09:00:00Z"] * 9, "south", "south-good")
    s.events("deal.registered", ["2026-10-22T09:00:00Z"] * 3, "south", "south-good")
    s.event("user.login", "2026-09-01T09:00:00Z", "stuckco", "stuck-rep")
    s.event("content.downloaded", "2026-09-05T09:00:00Z", "stuckco", "stuck-rep", "guide")
    s.event("user.login", "2026-10-28T09:00:00Z", "stuckco", "stuck-rep")
    journey(s, "sleepy", "sleepy-rep", "2026-08-01T09:00:00Z")


@dataclass
class Clock:
    now: datetime = NOW


@dataclass
class Desk:
    """The jobs and the real Slack app (signed HTTP) side by side, on one database and
    one fake Slack; `clock` is the instant the app thinks it is when a button is pressed."""

    jobs: JobWorld
    url: str
    clock: Clock

    def run(self, now: datetime) -> dict:
        return self.jobs.run("coaching-alerts", now)

    def press(self, user: str, action_id: str, value: str, at: datetime) -> dict:
        """A signed block_actions request from a button on an alert; returns what the app
        posted back to that message's response_url."""
        self.clock.now = at
        fake = self.jobs.fake
        alert = [{"type": "section", "text": {"type": "mrkdwn", "text": "alert"}}]
        body = button_press(user, action_id, value, fake.response_url(), blocks=alert)
        before = len(fake.calls_to("response_url"))
        head = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        response = httpx.post(f"{self.url}/slack/events", content=body, headers=head, timeout=10)
        assert response.status_code == 200, response.text
        return fake.wait_for("response_url", count=before + 1)[before].params


@pytest.fixture
def desk(db_url: str, jobs: JobWorld) -> Iterator[Desk]:
    coaching_book(jobs.engine)
    jobs.fake.add_user(ADMIN, locale="en-US")
    jobs.fake.add_user(CS_JA, locale="ja-JP", tz="Asia/Tokyo")
    jobs.settings = job_settings(
        db_url, jobs.fake, slack_signing_secret=SECRET, admin_slack_ids=ADMIN
    )
    clock = Clock()
    bolt = build_app(jobs.settings, jobs.engine, clock=lambda: clock.now)
    url, server, thread = _serve(create_web_app(bolt, jobs.engine))
    yield Desk(jobs, url, clock)
    server.should_exit = True
    thread.join(timeout=5)


def alerts(desk: Desk, user: str = CS) -> list[dict]:
    channel = desk.jobs.fake._dm_channel(user)
    return [
        c.params
        for c in desk.jobs.fake.calls_to("chat.postMessage")
        if c.params["channel"] == channel
    ]


def about(desk: Desk, headline: str, user: str = CS) -> list[dict]:
    return [a for a in alerts(desk, user) if headline in words(a)]


def buttons(alert: dict) -> dict[str, str]:
    return {
        e["action_id"]: e["value"]
        for b in alert["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }


def episodes(desk: Desk) -> dict[str, dict]:
    """Every episode by subject; the latest wins when one subject had several."""
    table = AlertEpisode.__table__
    with desk.jobs.engine.connect() as conn:
        rows = conn.execute(select(table).order_by(table.c.id)).mappings().all()
    return {r["subject"]: dict(r) for r in rows}


def test_one_alert_per_condition_with_the_playbook_and_buttons(desk):
    summary = desk.run(NOW)
    assert summary["sent"] == 3
    assert len(alerts(desk)) == 3
    found = episodes(desk)
    subjects = {
        COACHING: "coaching:north-weak",
        STUCK: "stuck:stuckco:content_downloaded",
        DORMANT: "dormant:sleepy",
    }
    assert set(found) == set(subjects.values())
    for headline, subject in subjects.items():
        (alert,) = about(desk, headline)
        episode = str(found[subject]["id"])
        assert buttons(alert) == {ALERT_ACK: episode, ALERT_SNOOZE: episode}
        assert "*Playbook*" in words(alert)
        assert found[subject]["cs_slack_id"] == CS and found[subject]["closed_at"] is None
    coaching = words(about(desk, COACHING)[0])
    assert "12 leads but only 1 deal in the last 30 days" in coaching
    assert "8.3 %" in coaching
    for step in ("hearing questions", "review it with tags", "mobile form", "weekly"):
        assert step in coaching  # the article's playbook
    stuck = words(about(desk, STUCK)[0])
    assert "stuck for 58 days" in stuck and "“Downloaded content”" in stuck
    assert "Snooze 14 days" in words(about(desk, DORMANT)[0])
    # The DM is opened once and its id kept, however many alerts go into it.
    assert [c.params["users"] for c in desk.jobs.fake.calls_to("conversations.open")] == [CS]

    for day in (1, 2, 7):  # the conditions still hold: one alert per episode, not per day
        again = desk.run(NOW + day * DAY)
        assert again.get("sent", 0) == 0 and again.get("episodes_closed", 0) == 0
    assert len(alerts(desk)) == 3


def test_a_cleared_condition_closes_its_episode_and_a_return_is_a_new_alert(desk):
    desk.run(NOW)
    first = episodes(desk)["dormant:sleepy"]
    Store(desk.jobs.engine).event("user.login", NOW + 2 * DAY, "sleepy", "sleepy-rep")
    summary = desk.run(NOW + 3 * DAY)
    assert summary["episodes_closed"] == 1 and summary.get("sent", 0) == 0
    closed = episodes(desk)["dormant:sleepy"]
    assert closed["id"] == first["id"] and closed["closed_at"] == NOW + 3 * DAY
    for day in range(4, 32):  # active again: nothing about Sleepy for 30 days
        desk.run(NOW + day * DAY)
    assert len(about(desk, DORMANT)) == 1
    # 30 days after that login, Sleepy is dormant again: a new episode, a new alert.
    desk.run(NOW + 33 * DAY)
    again = about(desk, DORMANT)
    assert len(again) == 2
    second = episodes(desk)["dormant:sleepy"]
    assert second["id"] != first["id"] and second["closed_at"] is None
    assert buttons(again[-1])[ALERT_ACK] == str(second["id"])


def test_ack_means_no_reminder_snooze_means_exactly_one_after_14_days(desk):
    desk.run(NOW)
    found = episodes(desk)
    pressed_at = NOW + timedelta(hours=1)
    answer = desk.press(CS, ALERT_ACK, str(found["dormant:sleepy"]["id"]), pressed_at)
    assert answer["replace_original"] is True and f"<@{CS}>" in words(answer)
    desk.press(CS, ALERT_SNOOZE, str(found["stuck:stuckco:content_downloaded"]["id"]), pressed_at)
    coaching = str(found["coaching:north-weak"]["id"])  # snoozed, then acknowledged after all
    desk.press(CS, ALERT_SNOOZE, coaching, pressed_at)
    desk.press(CS, ALERT_ACK, coaching, pressed_at + timedelta(minutes=5))
    assert episodes(desk)["stuck:stuckco:content_downloaded"]["snoozed_until"] == (
        pressed_at + timedelta(days=14)
    )

    for day in range(1, 15):  # 09:30 on day 14 is still within the snooze (until 10:30)
        assert desk.run(NOW + day * DAY).get("sent", 0) == 0, day
    reminder = desk.run(NOW + 15 * DAY)
    assert reminder["sent"] == 1
    (sent,) = [a for a in alerts(desk) if "Reminder: " in words(a)]
    assert "*Reminder: Stuckley has been stuck for 73 days*" in words(sent)
    episode = str(found["stuck:stuckco:content_downloaded"]["id"])
    assert buttons(sent) == {ALERT_ACK: episode, ALERT_SNOOZE: episode}
    for day in range(16, 60):  # one reminder, not one a day; the acked one: never
        desk.run(NOW + day * DAY)
    assert len([a for a in alerts(desk) if "Reminder: " in words(a)]) == 1
    assert len(about(desk, DORMANT)) == 1 and len(about(desk, COACHING)) == 1


def test_only_the_cs_owner_or_an_admin_can_ack(desk):
    desk.run(NOW)
    episode = episodes(desk)["dormant:sleepy"]["id"]
    answer = desk.press(MANAGER_A, ALERT_ACK, str(episode), NOW + timedelta(hours=1))
    assert "belongs to someone else" in words(answer) and answer.get("replace_original") is False
    assert episodes(desk)["dormant:sleepy"]["acked_at"] is None
    desk.press(MANAGER_A, ALERT_SNOOZE, str(episode), NOW + timedelta(hours=1))
    assert episodes(desk)["dormant:sleepy"]["snoozed_until"] is None
    with desk.jobs.engine.begin() as conn:  # the domain call says the same
        assert ack_alert(conn, str(episode), "USTRANGER", frozenset(), NOW) is Outcome.NOT_YOURS
    assert episodes(desk)["dormant:sleepy"]["acked_at"] is None

    desk.press(ADMIN, ALERT_ACK, str(episode), NOW + timedelta(hours=2))
    row = episodes(desk)["dormant:sleepy"]
    assert row["acked_at"] == NOW + timedelta(hours=2) and row["acked_by"] == ADMIN


def test_no_more_than_alerts_per_run_the_rest_next_run(desk):
    desk.jobs.settings = desk.jobs.settings.model_copy(update={"alerts_per_run": 2})
    first = desk.run(NOW)
    assert first["sent"] == 2 and first["deferred"] == 1
    assert about(desk, COACHING) and about(desk, STUCK) and not about(desk, DORMANT)
    assert set(episodes(desk)) == {"coaching:north-weak", "stuck:stuckco:content_downloaded"}
    second = desk.run(NOW + DAY)
    assert second["sent"] == 1 and "deferred" not in second
    assert len(about(desk, DORMANT)) == 1
    assert desk.run(NOW + 2 * DAY).get("sent", 0) == 0
    assert len(alerts(desk)) == 3


def test_a_reminded_episode_does_not_hold_back_new_alerts(desk):
    """Once its one reminder is out, a snoozed episode is done: it must not take a place
    of PRM_ALERTS_PER_RUN in every later run, or new conditions would never be sent."""
    desk.jobs.settings = desk.jobs.settings.model_copy(update={"alerts_per_run": 1})
    for day in range(3):  # coaching, then stuck, then dormant: one a day
        assert desk.run(NOW + day * DAY)["sent"] == 1
    stuck = episodes(desk)["stuck:stuckco:content_downloaded"]["id"]
    desk.press(CS, ALERT_SNOOZE, str(stuck), NOW + 2 * DAY)
    for day in range(3, 40):
        desk.run(NOW + day * DAY)
    assert len([a for a in alerts(desk) if "Reminder: " in words(a)]) == 1
    # Stuckley's last login (2026-10-28) is 30 days old on 2026-11-27: now dormant too.
    assert len(about(desk, "Stuckley has gone dormant")) == 1


def test_a_temporary_slack_failure_is_alerted_by_the_next_run(desk):
    desk.jobs.fake.fail_next("chat.postMessage", "service_unavailable")  # the first alert
    summary = desk.run(NOW)
    assert summary["sent"] == 2 and summary["retry:service_unavailable"] == 1
    again = desk.run(NOW + DAY)
    assert again["sent"] == 1
    delivered = [c for c in desk.jobs.fake.calls_to("chat.postMessage")]
    assert len(delivered) == 4  # the refused one, then each of the three once
    for headline in (COACHING, STUCK, DORMANT):
        assert len(about(desk, headline)) == (2 if headline == COACHING else 1)
    # The retried alert carries the episode opened the first time: still one episode.
    found = episodes(desk)
    assert len(found) == 3
    assert buttons(about(desk, COACHING)[-1])[ALERT_ACK] == str(found["coaching:north-weak"]["id"])
    assert desk.run(NOW + 2 * DAY).get("sent", 0) == 0


def test_a_japanese_cs_owner_reads_japanese(desk):
    with desk.jobs.engine.begin() as conn:
        conn.execute(update(Partner).where(Partner.key == "sleepy").values(cs_slack_id=CS_JA))
    summary = desk.run(NOW)
    assert summary["sent"] == 3
    (ja,) = alerts(desk, CS_JA)  # Slack locale ja-JP
    text = words(ja)
    assert "Sleepy Inc が休眠状態になりました" in text and "*進め方*" in text
    assert "対応します" in text and "14日後に再通知" in text
    assert japanese_share(text) > 0.6
    assert set(buttons(ja)) == {ALERT_ACK, ALERT_SNOOZE}
    en = alerts(desk, CS)
    assert len(en) == 2 and all(japanese_share(words(a)) == 0 for a in en)
    assert not about(desk, DORMANT, CS)


def test_dry_run_sends_nothing_and_opens_no_episode(desk):
    summary = desk.jobs.run("coaching-alerts", NOW, dry_run=True)
    assert summary["would_send"] == 3
    assert desk.jobs.fake.calls_to("chat.postMessage") == []
    assert desk.jobs.ledger() == [] and episodes(desk) == {}
    assert desk.run(NOW)["sent"] == 3
