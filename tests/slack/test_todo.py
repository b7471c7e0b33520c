"""`/prm todo` through the real app (signed requests, the fake Slack Web API) and its
four buttons: Nudge now (once, however often pressed), Hand to CS, Snooze, Open partner;
every press authorised again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine, select, update

from bot.domain.access import resolve_viewer
from bot.handlers.app import build_app
from bot.jobs.registry import run_job
from bot.slack.client import job_client
from bot.slack.dispatch import dispatch
from bot.slack.ids import WORKLIST_HAND_CS, WORKLIST_NUDGE, WORKLIST_OPEN, WORKLIST_SNOOZE
from bot.store.tables import Delivery, Partner, WorklistAction
from bot.web.asgi import create_web_app
from tests.builders import Store
from tests.slack.conftest import (
    AS_OF,
    CS,
    MANAGER,
    MANAGER_2,
    REP_EN,
    REP_JA,
    SlackWorld,
    _serve,
    _track_listener_work,
    make_settings,
    seed,
    stop,
)
from tests.slack.payloads import button_press, words

NOON = AS_OF + timedelta(hours=11)  # outside the reps' quiet hours (their zone: UTC)


@pytest.fixture
def noon_world(db_url: str, engine: Engine, fake, seeded) -> Iterator[SlackWorld]:
    """The Slack world of tests/slack/conftest.py, its clock at 11:00 (nudges may go)."""
    seeded(seed)
    settings = make_settings(db_url, fake)
    bolt = build_app(settings, engine, clock=lambda: NOON)
    fake.settle = _track_listener_work(bolt)
    url, server, thread = _serve(create_web_app(bolt, engine, settings, clock=lambda: NOON))
    with httpx.Client() as http:
        yield SlackWorld(url, fake, engine, settings, http=http)
    stop(server, thread)
    fake.settle = None
    fake.validate_payloads()


def press(world: SlackWorld, user: str, action_id: str, value: str) -> dict:
    body = button_press(user, action_id, value, world.fake.response_url())
    before = len(world.fake.calls_to("response_url"))
    response = world.post(body, "application/x-www-form-urlencoded")
    assert response.status_code == 200
    return world.fake.wait_for("response_url", count=before + 1)[before].params


def posted_to(world: SlackWorld, user: str) -> list:
    """chat.postMessage calls into `user`'s DM (the fake keeps one DM id per user)."""
    channel = world.fake._dms.get(user)
    return [c for c in world.fake.calls_to("chat.postMessage") if c.params["channel"] == channel]


def recorded(world: SlackWorld) -> list[tuple[str, str]]:
    with world.engine.connect() as conn:
        table = WorklistAction.__table__
        rows = conn.execute(select(table.c.slack_user_id, table.c.action).order_by(table.c.id))
        return [tuple(r) for r in rows]


def test_todo_over_slack_names_the_partners_with_their_days_and_four_buttons(world):
    answer = world.answer(CS, "todo")  # CS looks after acme and initech; reads en-GB
    text = words(answer)
    assert "*Initech KK* — stuck at “Logged in” for 82 days" in text
    assert "signed 518 days ago" in text and "no activity for 82 days" in text
    buttons = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {(e["action_id"], e["value"]) for e in buttons} >= {
        (WORKLIST_NUDGE, "initech"),
        (WORKLIST_HAND_CS, "initech"),
        (WORKLIST_SNOOZE, "initech"),
        (WORKLIST_OPEN, "initech"),
    }
    assert "Globex" not in text and "Umbrella" not in text


def test_prm_slack_ask_prints_what_slack_gets(world):
    with world.engine.connect() as conn:
        viewer = resolve_viewer(conn, MANAGER_2, world.settings.admins)
    reply = dispatch(world.engine, world.settings, AS_OF, viewer, "todo", "ja")
    answer = world.answer(MANAGER_2, "todo")
    assert words(answer) == words({"text": reply.text, "blocks": reply.blocks})


def test_todo_in_japanese(world):
    text = words(world.answer(REP_JA, "todo"))  # a rep: not for them, in their language
    assert "対応リストはパートナーマネージャーとカスタマーサクセス向け" in text


def test_nudge_now_sends_each_rep_their_next_action_once(noon_world):
    w = noon_world
    answer = press(w, MANAGER, WORKLIST_NUDGE, "acme")
    assert "Nudged Acme Corp: 2 reps got their next step." in words(answer)
    alice, kenji = posted_to(w, REP_EN), posted_to(w, REP_JA)
    assert len(alice) == 1 and "log in to the partner portal" in words(alice[0].params)
    assert len(kenji) == 1 and "案件" in words(kenji[0].params)  # kenji reads Japanese
    again = press(w, MANAGER, WORKLIST_NUDGE, "acme")
    assert "2 reps had already been nudged today." in words(again)
    assert len(posted_to(w, REP_EN)) == 1 and len(posted_to(w, REP_JA)) == 1
    with w.engine.connect() as conn:
        keys = conn.execute(
            select(Delivery.key, Delivery.status).where(Delivery.kind == "nudge")
        ).all()
    assert sorted(keys) == [
        ("next-actions:acme-alice:2026-11-01", "sent"),
        ("next-actions:acme-kenji:2026-11-01", "sent"),
    ]
    assert recorded(w) == [(MANAGER, "nudge"), (MANAGER, "nudge")]


def test_the_scheduled_job_does_not_nudge_again_the_same_day(noon_world):
    w = noon_world
    press(w, MANAGER, WORKLIST_NUDGE, "acme")
    sent = len(w.fake.calls_to("chat.postMessage"))
    run_job("next-actions", w.settings, w.engine, NOON, client=job_client(w.settings),
            echo=lambda _: None)  # fmt: skip
    mine = [c for c in w.fake.calls_to("chat.postMessage")[sent:] if "acme" in str(c.params)]
    assert posted_to(w, REP_EN)[1:] == [] and posted_to(w, REP_JA)[1:] == [] and not mine


def test_a_press_for_a_partner_outside_the_book_is_refused(noon_world):
    w = noon_world
    answer = press(w, MANAGER, WORKLIST_NUDGE, "initech")  # MANAGER_2's partner
    assert "not in your book, so nothing was done" in words(answer)
    assert w.fake.calls_to("chat.postMessage") == []
    for action in (WORKLIST_HAND_CS, WORKLIST_SNOOZE, WORKLIST_OPEN):
        assert "not in your book" in words(press(w, MANAGER, action, "initech"))
    assert "not in your book" in words(press(w, MANAGER, WORKLIST_NUDGE, "no-such-partner"))
    assert recorded(w) == []


def test_hand_to_cs_dms_the_cs_owner_once_with_the_context(noon_world):
    w = noon_world
    answer = press(w, MANAGER_2, WORKLIST_HAND_CS, "initech")  # MANAGER_2 reads ja-JP
    assert f"Initech KK を <@{CS}> さんに引き継ぎました" in words(answer)
    dm = posted_to(w, CS)
    assert len(dm) == 1
    text = words(dm[0].params)
    assert f"<@{MANAGER_2}> asks you to look after *Initech KK*" in text
    assert "stuck at “Logged in” for 83 days" in text  # at NOON, 11 hours later
    press(w, MANAGER_2, WORKLIST_HAND_CS, "initech")
    assert len(posted_to(w, CS)) == 1
    assert recorded(w) == [(MANAGER_2, "hand_cs"), (MANAGER_2, "hand_cs")]


def test_hand_to_cs_in_english(noon_world):
    w = noon_world
    answer = press(w, CS, WORKLIST_HAND_CS, "acme")  # CS (en-GB) hands acme to themselves
    assert f"Handed Acme Corp to <@{CS}>: they have the context in a DM." in words(answer)


def test_snooze_takes_the_partner_off_the_list(noon_world):
    w = noon_world
    answer = press(w, MANAGER_2, WORKLIST_SNOOZE, "initech")
    assert "Initech KK を14日間、対応リストから外しました。" in words(answer)
    assert "Initech KK" not in words(w.answer(MANAGER_2, "todo"))
    assert "Initech KK" in words(w.answer(CS, "todo"))  # CS's own list is theirs


def test_open_partner_shows_the_partner_card(noon_world):
    w = noon_world
    card = press(w, MANAGER, WORKLIST_OPEN, "globex")
    assert card["response_type"] == "ephemeral"
    assert "Globex" in words(card)


def test_nudge_now_for_channel_only_reps_posts_one_channel_message_once(noon_world):
    w = noon_world
    with w.engine.begin() as conn:
        conn.execute(
            update(Partner).where(Partner.key == "initech").values(slack_channel_id="CINITECH")
        )
    Store(w.engine).user("initech-jo", "initech", "2025-06-05", name="Jordan Baker")
    press(w, MANAGER_2, WORKLIST_NUDGE, "initech")
    press(w, MANAGER_2, WORKLIST_NUDGE, "initech")
    posts = [c for c in w.fake.calls_to("chat.postMessage") if c.params["channel"] == "CINITECH"]
    assert len(posts) == 1
    text = words(posts[0].params)
    assert "*Ivan*: " in text and "*Jordan Baker*: " in text and "haven't" not in text


def test_app_home_opens_with_the_worklist_and_a_snooze_there_republishes_it(world):
    before = len(world.fake.calls_to("views.publish"))
    world.event({"type": "app_home_opened", "user": MANAGER_2, "tab": "home"})
    view = world.fake.wait_for("views.publish", count=before + 1)[before].params["view"]
    text = words(view)
    assert text.startswith("対応リスト") and "*Initech KK* — 「ログイン」で82日間停滞" in text
    assert "Acme Corp" not in text
    before = len(world.fake.calls_to("views.publish"))
    assert world.action(MANAGER_2, WORKLIST_SNOOZE, "initech").status_code == 200
    view = world.fake.wait_for("views.publish", count=before + 1)[before].params["view"]
    assert "対応リスト" not in words(view) and recorded(world) == [(MANAGER_2, "snooze")]


def test_open_partner_from_app_home_opens_the_card_as_a_modal(world):
    assert world.action(MANAGER, WORKLIST_OPEN, "globex").status_code == 200
    (call,) = world.fake.wait_for("views.open")
    assert call.params["view"]["type"] == "modal" and "Globex" in words(call.params["view"])


def test_hand_to_cs_without_a_cs_owner_says_so_and_records_nothing(noon_world):
    w = noon_world
    answer = press(w, MANAGER, WORKLIST_HAND_CS, "globex")  # globex has no CS owner
    assert "Globex has no customer success owner" in words(answer)
    assert w.fake.calls_to("chat.postMessage") == [] and recorded(w) == []


def test_nudge_now_is_a_persons_decision_even_in_the_reps_quiet_hours(world):
    """`world`'s clock is midnight, inside the reps' quiet hours (UTC): the scheduler would
    wait, a manager's press does not."""
    answer = press(world, MANAGER, WORKLIST_NUDGE, "acme")
    assert "Nudged Acme Corp: 2 reps got their next step." in words(answer)
    assert len(posted_to(world, REP_EN)) == 1 and len(posted_to(world, REP_JA)) == 1
