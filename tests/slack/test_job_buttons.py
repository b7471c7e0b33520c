"""Buttons on the jobs' messages, pressed through the real app: Stop these tips, the
register calls to action, Ack and Snooze on coaching alerts; and /prm tips on|off."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import insert, select

from bot.slack.ids import ALERT_ACK, ALERT_SNOOZE, NUDGE_REGISTER_LEAD, NUDGE_STOP
from bot.store.tables import AlertEpisode, PartnerUser
from tests.slack.conftest import AS_OF, CS, MANAGER, REP_EN, REP_JA
from tests.slack.payloads import button_press, words


def press(world, user: str, action_id: str, value: str) -> dict:
    """A signed block_actions request from a button on a bot message; returns the answer
    the app posted to that message's response_url."""
    tip = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Your next step"}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "value": value,
                    "text": {"type": "plain_text", "text": "x"},
                }
            ],
        },
    ]
    body = button_press(user, action_id, value, world.fake.response_url(), blocks=tip)
    before = len(world.fake.calls_to("response_url"))
    response = world.post(body, "application/x-www-form-urlencoded")
    assert response.status_code == 200
    return world.fake.wait_for("response_url", count=before + 1)[before].params


def tips_off(world, key: str):
    with world.engine.connect() as conn:
        return conn.execute(
            select(PartnerUser.tips_off_at).where(PartnerUser.key == key)
        ).scalar_one()


def test_stop_these_tips_by_the_rep_updates_the_message_in_place(world):
    answer = press(world, REP_EN, NUDGE_STOP, "acme-alice")
    assert tips_off(world, "acme-alice") == AS_OF
    assert answer["replace_original"] is True
    assert "no more tips" in words(answer) and "/prm tips on" in words(answer)
    assert not [b for b in answer["blocks"] if b["type"] == "actions"]  # buttons gone


def test_someone_else_cannot_stop_a_reps_tips(world):
    answer = press(world, REP_JA, NUDGE_STOP, "acme-alice")
    assert tips_off(world, "acme-alice") is None
    assert answer.get("replace_original") is False and "別の方" in words(answer)  # ja rep


def test_tips_on_and_off_by_command(world):
    assert "Tips are off" in words(world.answer(REP_EN, "tips off"))
    assert tips_off(world, "acme-alice") == AS_OF
    assert "Tips are on again" in words(world.answer(REP_EN, "tips on"))
    assert tips_off(world, "acme-alice") is None
    assert "not linked" in words(world.answer(MANAGER, "tips off"))
    assert "/prm tips on" in words(world.answer(REP_EN, "tips maybe"))


def test_register_buttons_open_the_form_for_reps_only(world):
    world.post(  # the rep: the registration modal opens
        urlencode(
            {
                "payload": json.dumps(
                    {
                        "type": "block_actions",
                        "team": {"id": "T0001"},
                        "user": {"id": REP_EN},
                        "api_app_id": "A0001",
                        "trigger_id": "7.7.7",
                        "container": {"type": "view", "view_id": "V1"},
                        "view": {"id": "V1", "type": "home"},
                        "actions": [
                            {
                                "action_id": NUDGE_REGISTER_LEAD,
                                "block_id": "b",
                                "type": "button",
                                "value": "home",
                            }
                        ],
                    }
                )
            }
        ),
        "application/x-www-form-urlencoded",
    )
    opened = world.fake.wait_for("views.open")[0].params
    assert opened["trigger_id"] == "7.7.7" and opened["view"]["callback_id"] == "register_submit"
    answer = press(world, MANAGER, NUDGE_REGISTER_LEAD, "x")  # not a rep: told so
    assert "Only partner reps" in words(answer)


def _episode(world) -> int:
    with world.engine.begin() as conn:
        return int(
            conn.execute(
                insert(AlertEpisode)
                .values(
                    condition="dormant", subject="dormant:globex", cs_slack_id=CS, opened_at=AS_OF
                )
                .returning(AlertEpisode.id)
            ).scalar_one()
        )


def _row(world, episode: int):
    with world.engine.connect() as conn:
        return conn.execute(select(AlertEpisode).where(AlertEpisode.id == episode)).mappings().one()


def test_ack_by_the_cs_owner(world):
    episode = _episode(world)
    answer = press(world, CS, ALERT_ACK, str(episode))
    row = _row(world, episode)
    assert row["acked_at"] == AS_OF and row["acked_by"] == CS
    assert answer["replace_original"] is True and f"<@{CS}>" in words(answer)


def test_snooze_sets_the_reminder(world):
    episode = _episode(world)
    press(world, CS, ALERT_SNOOZE, str(episode))
    assert _row(world, episode)["snoozed_until"] == AS_OF + timedelta(days=14)


def test_nobody_else_can_ack(world):
    episode = _episode(world)
    answer = press(world, MANAGER, ALERT_ACK, str(episode))
    assert _row(world, episode)["acked_at"] is None
    assert "belongs to someone else" in words(answer)
    assert "no longer exists" in words(press(world, CS, ALERT_ACK, "999999"))
