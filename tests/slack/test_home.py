"""App Home: `app_home_opened` publishes the dashboard of the viewer's role."""

from __future__ import annotations

import pytest

from bot.slack.ids import HOME_PERIOD
from tests.slack.conftest import ADMIN, MANAGER, MANAGER_2, REP_EN, REP_JA, STRANGER
from tests.slack.payloads import japanese_share, words


def open_home(world, user: str) -> dict:
    before = len(world.fake.calls_to("views.publish"))
    response = world.event({"type": "app_home_opened", "user": user, "tab": "home"})
    assert response.status_code == 200
    call = world.fake.wait_for("views.publish", count=before + 1)[before]
    assert call.params["user_id"] == user
    view = call.params["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    return view


def test_manager_home_is_their_book(world):
    text = words(open_home(world, MANAGER))
    assert "Your partners" in text and "2 partners" in text
    assert "bottleneck" in text and "0 dormant" in text
    assert "Initech" not in text


def test_admin_home_is_the_whole_program(world):
    text = words(open_home(world, ADMIN))
    assert "Whole partner program" in text and "4 partners" in text
    assert "Last push — not yet activated" in text  # initech and umbrella


def test_rep_home_is_their_journey_and_next_step(world):
    text = words(open_home(world, REP_EN))
    assert "Hi Alice" in text
    assert "Your next step: Logged in" in text
    assert "12 leads · 5 deals · conversion 41.7 %" in text
    assert "Globex" not in text and "健二" not in text


def test_japanese_home(world):
    text = words(open_home(world, REP_JA))
    assert japanese_share(text) > 0.5 and "次のステップ" in text
    assert "担当パートナー" in words(open_home(world, MANAGER_2))  # Slack locale ja-JP


def test_stranger_home_has_no_figures(world):
    text = words(open_home(world, STRANGER))
    assert "Welcome to PRM" in text
    assert not any(ch.isdigit() for ch in text)


def test_messages_tab_publishes_nothing(world):
    response = world.event({"type": "app_home_opened", "user": MANAGER, "tab": "messages"})
    assert response.status_code == 200
    # A command afterwards proves the event was processed before it: Bolt runs in order
    # per request, and nothing for the messages tab reached views.publish.
    world.answer(MANAGER, "help")
    assert world.fake.calls_to("views.publish") == []


def test_period_buttons_republish_for_that_period(world):
    first = words(open_home(world, MANAGER))
    assert "period 2026-10-02 → 2026-11-01" in first
    before = len(world.fake.calls_to("views.publish"))
    response = world.action(MANAGER, HOME_PERIOD + "12w", "12w")
    assert response.status_code == 200
    view = world.fake.wait_for("views.publish", count=before + 1)[before].params["view"]
    assert "period 2026-08-09 → 2026-11-01" in words(view)


@pytest.mark.parametrize("error", ["not_enabled", "invalid_auth"])
def test_views_publish_errors_are_recorded_not_raised(world, error, caplog):
    world.fake.fail_next("views.publish", error)
    world.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"})
    world.fake.wait_for("views.publish")
    # The app stays up and answers the next request.
    assert "Your partners" in words(world.answer(MANAGER, "kpi"))


def test_rep_home_links_the_onboarding_reads_as_tracked_links(world, engine):
    from tests.builders import Store

    Store(engine).asset("onb-guide", "onboarding", title="Welcome guide")
    world.settings.secret_key = "s3cret"
    world.settings.public_url = "https://prm.example.org"
    text = words(open_home(world, REP_EN))
    assert "<https://prm.example.org/c/v1." in text and "|Welcome guide>" in text


def test_manager_and_admin_homes_show_the_pipeline_money_and_win_rate(world):
    text = words(open_home(world, MANAGER))
    assert "*Deal value registered and won*" in text
    assert "worth $" in text and "win rate" in text
    admin = words(open_home(world, ADMIN))
    assert "*Deal value registered and won*" in admin and "win rate" in admin


def test_rep_home_shows_their_partners_pipeline(world):
    text = words(open_home(world, REP_EN))
    assert "*Deal value registered and won*" in text and "win rate" in text


def test_japanese_homes_show_the_pipeline_in_japanese(world):
    ja = words(open_home(world, MANAGER_2))  # Slack locale ja-JP
    assert "*案件金額(登録・受注)*" in ja
    rep = words(open_home(world, REP_JA))
    assert "*案件金額(登録・受注)*" in rep
