"""`message.im`: a DM to the bot is answered once, with a pointer to `/prm help`; the
bot's own messages, other bots' and message subtypes get nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store import ledger
from tests.slack.conftest import MANAGER, REP_JA
from tests.slack.payloads import japanese_share, words


def dm(user: str, text: str = "hello?", **extra) -> dict:
    return {
        "type": "message",
        "channel_type": "im",
        "channel": f"D{user}",
        "user": user,
        "text": text,
        "ts": "1700000000.000100",
        **extra,
    }


def replies(world) -> list[dict]:
    return [c.params for c in world.fake.calls_to("chat.postMessage")]


def test_a_dm_to_the_bot_is_answered_once_with_a_pointer_to_help(world):
    assert world.event(dm(MANAGER)).status_code == 200
    (answer,) = [c.params for c in world.fake.wait_for("chat.postMessage", count=1)]
    assert answer["channel"] == f"D{MANAGER}"
    assert "/prm help" in words(answer) and "/prm kpi" in words(answer)
    # The same event again (Slack retries), and more lines the same day: still one reply.
    world.event(dm(MANAGER))
    world.event(dm(MANAGER, "anyone there?", ts="1700000001.000100"))
    world.event(dm(REP_JA))  # someone else: their own reply
    world.fake.wait_for("chat.postMessage", count=2)
    assert [r["channel"] for r in replies(world)] == [f"D{MANAGER}", f"D{REP_JA}"]
    with world.engine.connect() as conn:
        owed = ledger.taken(conn, "dm-reply", datetime(2000, 1, 1, tzinfo=UTC))
    assert sorted(r["status"] for r in owed.values()) == ["sent", "sent"]  # through the ledger


def test_bot_messages_and_subtypes_are_ignored(world):
    world.event(dm(MANAGER, bot_id="B0001"))  # the bot's own message, or another bot's
    world.event(dm(MANAGER, subtype="message_changed"))
    world.event(dm(MANAGER, subtype="bot_message"))
    world.event({**dm(MANAGER), "channel_type": "channel", "channel": "C1"})  # not a DM
    world.event(dm(REP_JA, "こんにちは"))  # then a real one: the only reply
    (answer,) = [c.params for c in world.fake.wait_for("chat.postMessage", count=1)]
    assert answer["channel"] == f"D{REP_JA}"
    assert japanese_share(words(answer)) > 0.3 and "/prm help" in words(answer)
    assert len(replies(world)) == 1
