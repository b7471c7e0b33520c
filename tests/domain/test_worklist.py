"""The manager's worklist (bot.domain.worklist): who is on it and why, by name and day
count, inside the asker's book only; snoozes; and what came of a manager's actions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.settings import Settings
from bot.domain import worklist
from bot.domain.access import resolve_viewer
from bot.kpi.params import params_from_settings
from bot.slack.dispatch import dispatch
from tests.builders import Store
from tests.slack.conftest import ADMIN, AS_OF, CS, MANAGER, MANAGER_2, REP_EN, STRANGER, seed
from tests.slack.payloads import japanese_share, words

NAMES = {"acme": "Acme Corp", "globex": "Globex", "initech": "Initech KK", "umbrella": "Umbrella"}


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(_env_file=None, database_url=db_url, admin_slack_ids=ADMIN)


@pytest.fixture
def world(engine, seeded):
    seeded(seed)
    return engine


def build(engine, settings, who: str, now=AS_OF) -> worklist.Worklist:
    with engine.connect() as conn:
        viewer = resolve_viewer(conn, who, settings.admins)
        return worklist.build(
            conn,
            params_from_settings(settings, as_of=now),
            viewer,
            settings.worklist_stuck_days,
            settings.activation_days,
        )


def todo(engine, settings, who: str, locale: str = "en") -> str:
    with engine.connect() as conn:
        viewer = resolve_viewer(conn, who, settings.admins)
    reply = dispatch(engine, settings, AS_OF, viewer, "todo", locale)
    return words({"blocks": reply.blocks})


def test_the_settings_are_distinct_from_the_coaching_alerts(settings):
    assert settings.worklist_stuck_days == 14 and settings.stuck_days == 21
    assert settings.activation_days == 30


def test_a_managers_worklist_names_stuck_dormant_and_not_activated_partners(world, settings):
    # initech: last (and only) login 2026-08-10 09:00, signed 2025-06-01, no deal.
    items = {i.partner_key: i for i in build(world, settings, MANAGER_2).items}
    assert set(items) == {"initech"}
    kinds = {r.kind: r for r in items["initech"].reasons}
    assert set(kinds) == {"stuck", "not_activated", "dormant"}
    assert kinds["stuck"].step == "logged_in" and kinds["stuck"].days == 82
    assert kinds["not_activated"].days == 518
    assert kinds["dormant"].days == 82
    text = todo(world, settings, MANAGER_2)
    assert "*Initech KK* — stuck at “Logged in” for 82 days (next: Downloaded content)" in text
    assert "signed 518 days ago, no deal registered yet" in text
    assert "no activity for 82 days" in text
    for label in ("Nudge now", "Hand to CS", "Snooze 14 days", "Open partner"):
        assert label in text
    assert not {"Acme Corp", "Globex", "Umbrella"} & {n for n in NAMES.values() if n in text}


@pytest.mark.parametrize(
    ("who", "book"),
    [(MANAGER, {"acme", "globex"}), (CS, {"acme", "initech"}), (ADMIN, set(NAMES))],
)
def test_no_partner_outside_the_book_appears(world, settings, who, book):
    listed = {i.partner_key for i in build(world, settings, who).items}
    assert listed <= book and listed
    text = todo(world, settings, who)
    for key, name in NAMES.items():
        assert (f"*{name}*" in text) == (key in listed)


def test_stuck_means_longer_than_the_worklist_setting(world, settings):
    # acme reached "deal registered" on 2026-10-06 10:00: 25 days before AS_OF.
    (acme,) = [i for i in build(world, settings, MANAGER).items if i.partner_key == "acme"]
    assert [(r.kind, r.step, r.days) for r in acme.reasons if r.kind == "stuck"] == [
        ("stuck", "deal_registered", 25)
    ]
    later = settings.model_copy(update={"worklist_stuck_days": 30})
    assert "acme" not in {i.partner_key for i in build(world, later, MANAGER).items}


def test_most_urgent_first(world, settings):
    items = build(world, settings, ADMIN).items
    # umbrella: signed 2026-02-01, nobody did anything since (273 days); initech 518 days
    # since signing; acme 25 and globex 22 days at their step.
    assert [i.partner_key for i in items][:2] == ["initech", "umbrella"]
    assert [i.urgency for i in items] == sorted((i.urgency for i in items), reverse=True)


def test_strangers_and_reps_get_no_worklist(world, settings):
    for who in (REP_EN, STRANGER):
        assert "for partner managers and customer success" in todo(world, settings, who)


def test_japanese(world, settings):
    text = todo(world, settings, MANAGER_2, "ja")
    assert "Initech KK" in text and "「ログイン」で82日間停滞" in text
    assert "今すぐ促す" in text and "CSに引き継ぐ" in text
    assert japanese_share(text.replace("Initech KK", "")) > 0.5


def test_a_snoozed_partner_leaves_the_list_for_14_days(world, settings):
    params = params_from_settings(settings, as_of=AS_OF)
    with world.begin() as conn:
        viewer = resolve_viewer(conn, MANAGER_2, settings.admins)
        outcome, item = worklist.act(conn, params, viewer, "initech", worklist.SNOOZE, 14, 30)
    assert outcome is worklist.Outcome.DONE and item is not None
    assert build(world, settings, MANAGER_2).items == []
    assert build(world, settings, CS).items  # someone else's list keeps it
    after = AS_OF + timedelta(days=14, minutes=1)
    assert [i.partner_key for i in build(world, settings, MANAGER_2, after).items] == ["initech"]


def test_a_press_on_a_partner_outside_the_book_is_refused_and_not_recorded(world, settings):
    params = params_from_settings(settings, as_of=AS_OF)
    with world.begin() as conn:
        manager = resolve_viewer(conn, MANAGER, settings.admins)
        rep = resolve_viewer(conn, REP_EN, settings.admins)
        assert worklist.act(conn, params, manager, "initech", worklist.NUDGE, 14, 30) == (
            worklist.Outcome.NOT_IN_BOOK,
            None,
        )
        assert worklist.act(conn, params, rep, "acme", worklist.NUDGE, 14, 30)[0] is (
            worklist.Outcome.NOT_MANAGER
        )
        assert worklist.followup(conn, params, MANAGER) == {}


def test_next_week_says_what_came_of_the_nudges(world, settings):
    params = params_from_settings(settings, as_of=AS_OF)
    with world.begin() as conn:
        viewer = resolve_viewer(conn, ADMIN, settings.admins)
        for key in ("initech", "umbrella"):
            worklist.act(conn, params, viewer, key, worklist.NUDGE, 14, 30)
        worklist.act(conn, params, viewer, "initech", worklist.NUDGE, 14, 30)  # twice: once
    # initech's rep downloads the guide: a later journey step.
    Store(world).event(
        "content.downloaded", "2026-11-03T09:00:00Z", "initech", "initech-ivan", "guide"
    )
    week = params_from_settings(settings, as_of=AS_OF + timedelta(days=7))
    with world.connect() as conn:
        assert worklist.followup(conn, week, ADMIN) == {
            "nudged": 2,
            "nudged_moved": 1,
            "handed": 0,
            "handed_moved": 0,
        }
        later = params_from_settings(settings, as_of=AS_OF + timedelta(days=8))
        assert worklist.followup(conn, later, ADMIN) == {}


def test_todo_is_a_form_of_its_own():
    from zoneinfo import ZoneInfo

    from bot.domain.questions import parse

    tz = ZoneInfo("UTC")
    assert parse("todo", tz).command == "todo" and parse("TODO", tz).command == "todo"
    assert parse("todo now", tz).command == "help"


def test_names_are_data_not_markup(world, settings):
    from sqlalchemy import update

    from bot.store.tables import Partner

    with world.begin() as conn:
        conn.execute(
            update(Partner).where(Partner.key == "initech").values(name="<!channel> [[x|y]] Co")
        )
    with world.connect() as conn:
        viewer = resolve_viewer(conn, MANAGER_2, settings.admins)
    reply = dispatch(world, settings, AS_OF, viewer, "todo", "en")
    sections = [b["text"]["text"] for b in reply.blocks if b["type"] == "section"]
    assert any("&lt;!channel&gt; [[x|y]] Co" in t for t in sections)
    assert not any("<!channel>" in t for t in sections)
