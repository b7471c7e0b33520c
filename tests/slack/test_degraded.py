"""The Slack app when the database is away, and text that PostgreSQL cannot hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot.handlers.app import build_app
from bot.web.asgi import create_web_app
from tests.slack.conftest import AS_OF, MANAGER, REP_JA, SlackWorld, _serve, make_settings, stop
from tests.slack.payloads import japanese_share, words


@pytest.fixture(params=["sqlite", "postgresql"])
def broken_world(request, fake, tmp_path: Path) -> Iterator[SlackWorld]:
    """The app, with its database gone: a SQLite file in a folder that does not exist, or
    a PostgreSQL server that is not listening."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gone' / 'prm.db'}"
    else:
        url = "postgresql+psycopg://postgres@127.0.0.1:1/prm?connect_timeout=2"
    engine = create_engine(url)
    settings = make_settings(url, fake)
    bolt = build_app(settings, engine, clock=lambda: AS_OF)
    app = create_web_app(bolt, engine, settings, clock=lambda: AS_OF)
    base, server, thread = _serve(app)
    yield SlackWorld(base, fake, engine, settings)
    stop(server, thread)
    engine.dispose()


def test_help_needs_no_database(broken_world):
    text = words(broken_world.answer(MANAGER, "help"))
    assert "/prm kpi" in text and "temporarily unavailable" not in text


def test_a_question_gets_temporarily_unavailable_not_an_error(broken_world, caplog):
    text = words(broken_world.answer(MANAGER, "kpi"))
    assert "temporarily unavailable" in text and "went wrong" not in text
    assert "Traceback" not in caplog.text


def test_a_japanese_reader_is_told_in_japanese_by_their_slack_locale(broken_world):
    broken_world.fake.add_user(REP_JA, locale="ja-JP")  # the stored locale is out of reach
    text = words(broken_world.answer(REP_JA, "kpi"))
    assert "一時的に" in text and japanese_share(text) > 0.4


def test_a_nul_in_the_command_text_is_ignored(world):
    text = words(world.answer(MANAGER, "partner acme\x00"))
    assert "Acme Corp" in text and "went wrong" not in text


def test_a_button_pressed_while_the_database_is_away_gets_told(broken_world, caplog):
    from tests.slack.payloads import button_press

    body = button_press(MANAGER, "reg_approve", "1", broken_world.fake.response_url())
    response = broken_world.post(body, "application/x-www-form-urlencoded")
    assert response.status_code == 200
    (answer,) = broken_world.fake.wait_for("response_url")
    assert "temporarily unavailable" in words(answer.params)
    assert "Traceback" not in caplog.text


def test_app_home_while_the_database_is_away(broken_world):
    broken_world.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"})
    (published,) = broken_world.fake.wait_for("views.publish")
    assert "temporarily unavailable" in words(published.params)


def test_a_form_submitted_while_the_database_is_away_stays_open_and_says_why(broken_world):
    from tests.slack.test_registration import DEAL, submit

    response = submit(broken_world, "UREPEN", "register_submit", {"kind": "deal"}, DEAL)
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    # In Slack's locale for that rep (ja-JP): the stored one is out of reach.
    assert "一時的にご利用いただけません" in body["errors"]["company"]
