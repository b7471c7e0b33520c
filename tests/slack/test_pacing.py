"""The jobs' pacing to Slack's published limits (bot.slack.pacing): per workspace, per
method tier, per channel for posts, waiting before a call instead of running into 429s.
The clock and the sleep are fakes: nothing here waits."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.core.settings import Settings
from bot.slack.client import job_client
from bot.slack.pacing import Bucket, PacedWebClient, Pacer
from tests.slackfake import FakeSlack


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_bucket_allows_its_burst_then_its_rate():
    bucket = Bucket(rate=1.0, capacity=3)
    waits = [bucket.take(0.0) for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0] and waits[3] == pytest.approx(1.0)
    assert waits[4] == pytest.approx(2.0)
    assert Bucket(rate=1.0, capacity=3).take(0.0) == 0.0


def test_a_tier_2_fan_out_is_spread_over_minutes_not_refused():
    t = FakeTime()
    pacer = Pacer(t.clock, t.sleep)
    for _ in range(60):  # conversations.inviteShared is Tier 2: 20 a minute, burst 20
        pacer.wait("conversations.inviteShared")
    # 20 at once, then 40 at 20 a minute: two minutes of waiting, nothing refused.
    assert t.now - 1000.0 == pytest.approx(40 * 3.0)
    assert pacer.waited == pytest.approx(120.0)


def test_posts_are_paced_per_channel_and_tiers_apart():
    t = FakeTime()
    pacer = Pacer(t.clock, t.sleep)
    for channel in ("D1", "D2", "D3", "D4", "D5", "D6"):  # one DM each: no wait
        pacer.wait("chat.postMessage", channel)
    assert t.slept == []
    for _ in range(4):  # the same channel: a burst of 3, then one a second
        pacer.wait("chat.postMessage", "C1")
    assert t.slept == [pytest.approx(1.0)]
    pacer.wait("users.info")  # Tier 4 has its own bucket
    assert len(t.slept) == 1


def test_the_job_client_paces_through_the_real_slack_sdk():
    t = FakeTime()
    with FakeSlack() as fake:
        for n in range(60):
            fake.add_user(f"U{n:04d}")
        client = PacedWebClient(token=fake.bot_token, base_url=fake.base_url,
                                pacer=Pacer(t.clock, t.sleep))  # fmt: skip
        for n in range(60):  # conversations.open is Tier 3: 50 a minute, burst 50
            client.conversations_open(users=f"U{n:04d}")
        assert len(fake.calls_to("conversations.open")) == 60
    assert client.pacer.waited == pytest.approx(10 * 60 / 50)


def test_pacing_is_on_by_default_and_can_be_turned_off(monkeypatch):
    monkeypatch.delenv("PRM_SLACK_PACING", raising=False)
    paced = job_client(Settings(_env_file=None, slack_bot_token="xoxb-x"))
    assert isinstance(paced, PacedWebClient)
    plain = job_client(Settings(_env_file=None, slack_bot_token="xoxb-x", slack_pacing=False))
    assert type(plain) is WebClient
