"""coaching-alerts: one digest a day per CS owner — the conditions grouped by kind and
ranked by severity, each with Ack / Snooze buttons pressed through the real Slack app."""

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

COACHING = "*Walter* (Northwind): 12 leads, 1 deal in the last 30 days"
STUCK = "*Stuckley*: stuck for 58 days at “Downloaded content”"
DORMANT = "*Sleepy Inc*: no activity for 30 days or more."
NY_CS = "UCSNY"


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

    def press(
        self, user: str, action_id: str, value: str, at: datetime, blocks: list | None = None
    ) -> dict:
        """A signed block_actions request from a button (block id "b") on a message with
        these blocks; returns what the app posted back to that message's response_url."""
        self.clock.now = at
        fake = self.jobs.fake
        alert = blocks or [{"type": "section", "text": {"type": "mrkdwn", "text": "alert"}}]
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
    jobs.fake.add_user(NY_CS, locale="en-US", tz="America/New_York")
    jobs.settings = job_settings(
        db_url, jobs.fake, slack_signing_secret=SECRET, admin_slack_ids=ADMIN
    )
    clock = Clock()
    bolt = build_app(jobs.settings, jobs.engine, clock=lambda: clock.now)
    url, server, thread = _serve(create_web_app(bolt, jobs.engine))
    yield Desk(jobs, url, clock)
    server.should_exit = True
    thread.join(timeout=5)


def digests(desk: Desk, user: str = CS) -> list[dict]:
    channel = desk.jobs.fake._dm_channel(user)
    return [
        c.params
        for c in desk.jobs.fake.calls_to("chat.postMessage")
        if c.params["channel"] == channel
    ]


def about(desk: Desk, headline: str, user: str = CS) -> list[dict]:
    return [a for a in digests(desk, user) if headline in words(a)]


def items(digest: dict) -> list[tuple[str, dict[str, str]]]:
    """Each item of a digest in order: its text, and its buttons (action id → value)."""
    out = []
    blocks = digest["blocks"]
    for i, b in enumerate(blocks):
        if b["type"] == "actions":
            text = words(blocks[i - 1])
            out.append((text, {e["action_id"]: e["value"] for e in b["elements"]}))
    return out


def item(digest: dict, headline: str) -> dict[str, str]:
    """The buttons of the one item whose text holds `headline`."""
    (found,) = [buttons for text, buttons in items(digest) if headline in text]
    return found


def episodes(desk: Desk) -> dict[str, dict]:
    """Every episode by subject; the latest wins when one subject had several."""
    table = AlertEpisode.__table__
    with desk.jobs.engine.connect() as conn:
        rows = conn.execute(select(table).order_by(table.c.id)).mappings().all()
    return {r["subject"]: dict(r) for r in rows}


SUBJECTS = {
    COACHING: "coaching:north-weak",
    STUCK: "stuck:stuckco:content_downloaded",
    DORMANT: "dormant:sleepy",
}


def test_one_digest_per_cs_owner_grouped_by_kind_with_buttons_per_item(desk):
    summary = desk.run(NOW)
    assert summary["sent"] == 1
    (digest,) = digests(desk)
    text = words(digest)
    found = episodes(desk)
    assert set(found) == set(SUBJECTS.values())
    for headline, subject in SUBJECTS.items():
        episode = str(found[subject]["id"])
        assert item(digest, headline) == {ALERT_ACK: episode, ALERT_SNOOZE: episode}
        assert found[subject]["cs_slack_id"] == CS and found[subject]["closed_at"] is None
    # Grouped by kind, in the order CS reads them, names not keys, each with a playbook
    # CS can act on.
    kinds = [
        "1 rep needs coaching",
        "1 partner is stuck on the journey",
        "1 partner has gone quiet",
    ]
    assert [text.index(k) for k in kinds] == sorted(text.index(k) for k in kinds)
    assert "Customer success digest · 2026-11-02" in text
    assert "3 things need your attention today (3 new)." in text
    assert text.count("*Playbook*") == 3
    assert "Book a 20-minute check-in with their partner manager" in text
    assert "hearing questions" not in text and "north-weak" not in text
    assert "8.3 %" in text and "🆕 New today" in text and "Snooze 14 days" in text
    # The DM is opened once and its id kept.
    assert [c.params["users"] for c in desk.jobs.fake.calls_to("conversations.open")] == [CS]

    # A second run the same day sends nothing: one digest per owner and local day.
    again = desk.run(NOW + timedelta(hours=3))
    assert again.get("sent", 0) == 0 and again["duplicate"] == 1
    assert len(digests(desk)) == 1
    # The next morning, what is still open comes again, in one digest.
    tomorrow = desk.run(NOW + DAY)
    assert tomorrow["sent"] == 1 and tomorrow.get("episodes_opened", 0) == 0
    latest = words(digests(desk)[-1])
    assert "3 things need your attention today (0 new)." in latest
    assert "In your digest for 1 day" in latest
    assert len(episodes(desk)) == 3  # still the same three episodes


def test_one_message_per_owner_however_many_owners_and_conditions(desk):
    with desk.jobs.engine.begin() as conn:
        conn.execute(update(Partner).where(Partner.key == "sleepy").values(cs_slack_id=CS_JA))
    assert desk.run(NOW)["sent"] == 2
    assert len(digests(desk)) == 1 and len(digests(desk, CS_JA)) == 1
    assert desk.run(NOW + timedelta(minutes=30)).get("sent", 0) == 0
    assert len(desk.jobs.fake.calls_to("chat.postMessage")) == 2
    keys = sorted(r["key"] for r in desk.jobs.ledger())
    assert keys == [
        f"coaching-alerts:digest:{CS}:2026-11-02",
        f"coaching-alerts:digest:{CS_JA}:2026-11-02",
    ]


def test_within_a_kind_the_most_severe_comes_first(desk):
    s = Store(desk.jobs.engine)
    s.partner("oldstuck", "2025-01-01", name="Oldstuck", cs=CS)
    s.user("old-rep", "oldstuck", "2025-01-05", name="Olga")
    s.event("user.login", "2025-07-19T09:00:00Z", "oldstuck", "old-rep")
    s.event("content.downloaded", "2025-07-20T09:00:00Z", "oldstuck", "old-rep", "guide")
    s.event("user.login", "2026-10-30T09:00:00Z", "oldstuck", "old-rep")  # not dormant
    desk.run(NOW)
    (digest,) = digests(desk)
    texts = [text for text, _ in items(digest)]
    stuck = [t for t in texts if "stuck for" in t]
    assert stuck[0].startswith("*Oldstuck*: stuck for 470 days")
    assert stuck[1].startswith("*Stuckley*: stuck for 58 days")
    assert "2 partners are stuck on the journey" in words(digest)


def test_a_cleared_condition_closes_its_episode_and_a_return_is_a_new_one(desk):
    desk.run(NOW)
    first = episodes(desk)["dormant:sleepy"]
    Store(desk.jobs.engine).event("user.login", NOW + 2 * DAY, "sleepy", "sleepy-rep")
    summary = desk.run(NOW + 3 * DAY)
    assert summary["episodes_closed"] == 1 and summary["sent"] == 1
    assert DORMANT not in words(digests(desk)[-1])
    closed = episodes(desk)["dormant:sleepy"]
    assert closed["id"] == first["id"] and closed["closed_at"] == NOW + 3 * DAY
    # 30 days after that login, Sleepy is dormant again: a new episode, new buttons.
    desk.run(NOW + 33 * DAY)
    second = episodes(desk)["dormant:sleepy"]
    assert second["id"] != first["id"] and second["closed_at"] is None
    assert item(digests(desk)[-1], DORMANT)[ALERT_ACK] == str(second["id"])


def test_ack_takes_an_item_off_snooze_brings_it_back_after_14_days(desk):
    desk.run(NOW)
    found = episodes(desk)
    pressed_at = NOW + timedelta(hours=1)
    answer = desk.press(CS, ALERT_ACK, str(found["dormant:sleepy"]["id"]), pressed_at)
    assert answer["replace_original"] is True and f"<@{CS}>" in words(answer)
    stuck = str(found["stuck:stuckco:content_downloaded"]["id"])
    desk.press(CS, ALERT_SNOOZE, stuck, pressed_at)
    assert episodes(desk)["stuck:stuckco:content_downloaded"]["snoozed_until"] == (
        pressed_at + timedelta(days=14)
    )
    for day in range(1, 15):  # 09:30 on day 14 is still within the snooze (until 10:30)
        assert desk.run(NOW + day * DAY)["sent"] == 1, day  # coaching is still open
        latest = words(digests(desk)[-1])
        assert STUCK[:12] not in latest and DORMANT not in latest, day
    desk.run(NOW + 15 * DAY)
    last = digests(desk)[-1]
    assert "*Stuckley*: stuck for 73 days" in words(last)
    assert "⏰ Back after your snooze" in words(last)
    assert item(last, "*Stuckley*") == {ALERT_ACK: stuck, ALERT_SNOOZE: stuck}
    assert DORMANT not in words(last)  # acknowledged: never again in this episode


def test_a_press_answers_only_its_item_in_the_digest(desk):
    desk.run(NOW)
    (digest,) = digests(desk)
    blocks = [dict(b, block_id=f"x{i}") for i, b in enumerate(digest["blocks"])]
    pressed = next(i for i, b in enumerate(blocks) if b["type"] == "actions")
    blocks[pressed]["block_id"] = "b"  # the block the press comes from
    value = blocks[pressed]["elements"][0]["value"]
    answer = desk.press(CS, ALERT_ACK, value, NOW + timedelta(hours=1), blocks=blocks)
    assert answer["replace_original"] is True
    after = answer["blocks"]
    assert len(after) == len(blocks)
    assert after[pressed]["type"] == "context" and f"<@{CS}>" in words(after[pressed])
    assert sum(1 for b in after if b["type"] == "actions") == 2  # the other two items


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


def test_alerts_per_run_caps_the_items_shown_one_kind_at_a_time(desk):
    desk.jobs.settings = desk.jobs.settings.model_copy(update={"alerts_per_run": 2})
    first = desk.run(NOW)
    assert first["sent"] == 1 and first["deferred"] == 1
    (digest,) = digests(desk)
    assert [t.split(":")[0] for t, _ in items(digest)] == ["*Walter* (Northwind)", "*Stuckley*"]
    assert "…and 1 more, in the next digests." in words(digest)
    # Every condition has its episode, shown or not; acknowledging one makes room.
    assert set(episodes(desk)) == set(SUBJECTS.values())
    desk.press(CS, ALERT_ACK, item(digest, "*Walter*")[ALERT_ACK], NOW + timedelta(hours=1))
    desk.run(NOW + DAY)
    assert [t.split(":")[0] for t, _ in items(digests(desk)[-1])] == ["*Stuckley*", "*Sleepy Inc*"]


def test_a_temporary_slack_failure_is_sent_by_a_later_run_the_same_day(desk):
    desk.jobs.fake.fail_next("chat.postMessage", "service_unavailable")
    summary = desk.run(NOW)
    assert summary.get("sent", 0) == 0 and summary["retry:service_unavailable"] == 1
    again = desk.run(NOW + timedelta(hours=1))
    assert again["sent"] == 1
    assert len(desk.jobs.fake.calls_to("chat.postMessage")) == 2  # the refused one, then it
    found = episodes(desk)
    assert len(found) == 3  # the retry carries the episodes opened the first time
    assert item(digests(desk)[-1], COACHING)[ALERT_ACK] == str(found["coaching:north-weak"]["id"])
    assert desk.run(NOW + timedelta(hours=2)).get("sent", 0) == 0


def test_a_japanese_cs_owner_reads_japanese(desk):
    with desk.jobs.engine.begin() as conn:
        conn.execute(update(Partner).where(Partner.key == "sleepy").values(cs_slack_id=CS_JA))
    assert desk.run(NOW)["sent"] == 2
    (ja,) = digests(desk, CS_JA)  # Slack locale ja-JP
    text = words(ja)
    assert "カスタマーサクセス ダイジェスト · 2026-11-02" in text  # 18:30 in Tokyo
    assert "休眠パートナー(直近30日の活動なし): 1社" in text and "*進め方*" in text
    assert "*Sleepy Inc*: 30日以上活動がありません。" in text
    assert "対応します" in text and "14日後に再通知" in text
    assert "パートナーマネージャーに共有し" in text
    assert japanese_share(text) > 0.6
    assert len(items(ja)) == 1 and set(items(ja)[0][1]) == {ALERT_ACK, ALERT_SNOOZE}
    (en,) = digests(desk, CS)
    assert japanese_share(words(en)) == 0 and DORMANT not in words(en)


def test_the_digest_waits_for_the_owners_local_morning_and_skips_quiet_hours(desk):
    with desk.jobs.engine.begin() as conn:
        conn.execute(update(Partner).values(cs_slack_id=NY_CS).where(Partner.cs_slack_id == CS))
    tick = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)  # 23:30 in New York: quiet hours
    for hour in range(10):  # the hourly schedule, 23:30 to 08:30 in New York (EST)
        at = tick + timedelta(hours=hour)
        summary = desk.jobs.run("coaching-alerts", at, occurrence=at.isoformat())
        assert summary.get("sent", 0) == 0 and summary["skipped:not_now"] == 1, at
    at = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)  # 09:30 in New York
    assert desk.jobs.run("coaching-alerts", at, occurrence=at.isoformat())["sent"] == 1
    later = at + timedelta(hours=1)
    assert desk.jobs.run("coaching-alerts", later, occurrence=later.isoformat())["duplicate"] == 1
    (digest,) = digests(desk, NY_CS)
    assert "Customer success digest · 2026-11-02" in words(digest)
    # By hand, at once — but never in quiet hours.
    night = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)  # 22:00 in New York
    assert desk.run(night)["skipped:not_now"] == 1


def test_dry_run_sends_nothing_and_opens_no_episode(desk):
    summary = desk.jobs.run("coaching-alerts", NOW, dry_run=True)
    assert summary["would_send"] == 1
    assert desk.jobs.fake.calls_to("chat.postMessage") == []
    assert desk.jobs.ledger() == [] and episodes(desk) == {}
    assert desk.run(NOW)["sent"] == 1


def test_a_hostile_name_stays_text_in_the_digest(desk, monkeypatch):
    benign = render_digest(desk, monkeypatch)
    hostile = "<!channel> *x*\n# Header\n[[alert_ack|1|primary]] Pwn\n---"
    with desk.jobs.engine.begin() as conn:
        conn.execute(update(Partner).where(Partner.key == "sleepy").values(name=hostile))
    evil = render_digest(desk, monkeypatch)
    assert [b["type"] for b in evil] == [b["type"] for b in benign]
    assert sum(len(b.get("elements", [])) for b in evil if b["type"] == "actions") == 6
    assert "<!channel>" not in str(evil)  # escaped: &lt;!channel&gt;


def render_digest(desk: Desk, monkeypatch) -> list[dict]:
    """The blocks of the one digest a dry run would send CS."""
    import bot.jobs.coaching as job

    captured: list[list[dict]] = []
    original = job.deliver

    def keep(ctx, entry, message, to, **kw):
        captured.append(message.blocks)
        return original(ctx, entry, message, to, **kw)

    monkeypatch.setattr(job, "deliver", keep)
    desk.jobs.run("coaching-alerts", NOW, dry_run=True)
    monkeypatch.setattr(job, "deliver", original)
    (blocks,) = captured
    return blocks
