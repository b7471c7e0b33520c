"""Every `/prm` form, asked through the real Slack app and through `prm slack ask`, gets
the same answer: one dispatcher (bot.slack.dispatch) serves both.

The Slack side is the real HTTP app (signed requests, tests/slackfake.py recording what
was posted to the response_url or opened with views.open); the CLI side is `prm slack ask
USER TEXT --json` on the same database, at the same instant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from sqlalchemy import Engine, create_engine, select

from bot.handlers.app import build_app
from bot.store.tables import PartnerUser
from bot.web.asgi import create_web_app
from tests.slack.conftest import (
    ADMIN,
    AS_OF,
    CS,
    MANAGER,
    MANAGER_2,
    REP_EN,
    REP_JA,
    REP_OTHER,
    STRANGER,
    SlackWorld,
    _serve,
    make_settings,
)
from tests.slack.payloads import words

ENV = {"PRM_AS_OF": "2026-11-01T00:00:00Z", "PRM_ADMIN_SLACK_IDS": ADMIN}

FORMS = [
    # help, and what is not a command
    "help",
    "",
    "wat",
    "KPIs please",
    # kpi, every KPI, partners, periods and their mistakes
    "kpi",
    "kpi all",
    "kpi funnel",
    "kpi content",
    "kpi deals",
    "kpi reps",
    "kpi retention",
    "kpi deals acme 2026-Q3",
    "kpi 30d",
    "kpi 12W Acme Corp",
    "kpi 2026-10",
    "kpi 2026-13",
    "kpi 0d",
    "kpi 99999999d",
    "kpi 30d 3m",
    "kpi 2027-Q1",
    "kpi initech",
    "kpi acm",
    "kpi funel",
    "kpi globex",
    # partner
    "partner",
    "partner acme",
    "partner Acme Corp 3m",
    "partner Globex",
    "partner &lt;!channel&gt; &amp; co",
    # me, content
    "me",
    "me 12w",
    "me acme",
    "content",
    # tips (stores the preference), register (opens the modal)
    "tips",
    "tips maybe",
    "tips off",
    "tips on",
    "TIPS OFF",
    "register",
    "register lead",
    "register deal",
    "register boat",
    "register lead now",
]
VIEWERS = [ADMIN, MANAGER, CS, REP_EN, REP_JA, REP_OTHER, STRANGER]


def slack_reply(world: SlackWorld, user: str, text: str) -> dict[str, Any]:
    """What the app did for `/prm TEXT`: the message posted to the response_url, or the
    view opened (`{"view": …}`), whichever came."""
    opened = len(world.fake.calls_to("views.open"))
    response, url = world.command(user, text)
    assert response.status_code == 200, response.text
    path = urlparse(url).path

    def answered() -> bool:  # an event wait on the fake's calls, not a sleep
        views = world.fake.calls_to("views.open")
        return len(views) > opened or any(
            c.url == path for c in world.fake.calls_to("response_url")
        )

    with world.fake._cond:
        if not world.fake._cond.wait_for(answered, timeout=5):
            raise AssertionError(f"no answer to /prm {text!r} from {user}")
    views = world.fake.calls_to("views.open")
    if len(views) > opened:
        assert views[-1].params["trigger_id"] == "1.2.3"
        return {"view": views[-1].params["view"]}
    return next(c for c in world.fake.calls_to("response_url") if c.url == path).params


def cli_reply(cli, user: str, text: str, *extra: str, env: dict[str, str] | None = None) -> dict:
    out = cli("slack", "ask", user, text, "--json", *extra, env={**ENV, **(env or {})})
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def tips_off(engine: Engine, key: str):
    with engine.connect() as conn:
        return conn.execute(select(PartnerUser.tips_off_at).where(PartnerUser.key == key)).scalar()


@pytest.mark.parametrize("user", VIEWERS)
def test_every_form_gets_the_same_answer_in_slack_and_from_the_cli(world, cli, user):
    for text in FORMS:
        by_cli = cli_reply(cli, user, text)
        in_slack = slack_reply(world, user, text)
        assert in_slack == by_cli, f"/prm {text!r} from {user}"
    world.fake.validate_payloads()


def test_a_reader_of_japanese_by_slack_locale_gets_the_same_with_locale(world, cli):
    # MANAGER_2 has no stored locale; Slack says ja-JP. The CLI has no Slack to ask.
    for text in ("kpi", "partner initech", "tips off", "register deal", "help", "kpi 2026-13"):
        assert slack_reply(world, MANAGER_2, text) == cli_reply(
            cli, MANAGER_2, text, "--locale", "ja"
        ), text


def test_tips_are_stored_by_either_path(world, cli):
    cli_reply(cli, REP_EN, "tips off")
    assert tips_off(world.engine, "acme-alice") == AS_OF
    slack_reply(world, REP_EN, "tips on")
    assert tips_off(world.engine, "acme-alice") is None
    slack_reply(world, REP_EN, "tips off")
    assert tips_off(world.engine, "acme-alice") == AS_OF
    cli_reply(cli, REP_EN, "tips on")
    assert tips_off(world.engine, "acme-alice") is None


def test_the_old_bug_tips_and_register_are_not_a_kpi_report(world, cli):
    off = cli_reply(cli, REP_EN, "tips off")
    assert "Tips are off" in words(off) and "%" not in words(off)
    modal = cli_reply(cli, REP_EN, "register deal")["view"]
    assert modal["type"] == "modal" and modal["callback_id"] == "register_submit"
    assert json.loads(modal["private_metadata"]) == {"kind": "deal"}
    refused = cli_reply(cli, MANAGER, "register deal")
    assert "Only partner reps" in words(refused)


def test_the_modal_in_plain_text(world, cli):
    out = cli("slack", "ask", REP_EN, "register deal", env=ENV)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == "[rep, en, modal]"
    assert lines[1].startswith("== ") and lines[1].endswith(" ==")
    view = cli_reply(cli, REP_EN, "register deal")["view"]
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    for label in labels:
        assert any(line.strip().startswith(label) for line in lines), label
    assert f"[{view['submit']['text']}]" in lines[-1]
    ja = cli("slack", "ask", REP_JA, "register", env=ENV).output
    assert ja.startswith("[rep, ja, modal]")


@pytest.fixture
def empty_world(db_url: str, engine: Engine, fake) -> Iterator[SlackWorld]:
    """The app on a migrated database with nothing imported yet."""
    settings = make_settings(db_url, fake)
    bolt = build_app(settings, engine, clock=lambda: AS_OF)
    url, server, thread = _serve(create_web_app(bolt, engine, settings, clock=lambda: AS_OF))
    yield SlackWorld(url, fake, engine, settings)
    server.should_exit = True
    thread.join(timeout=5)


def test_the_empty_store(empty_world, cli):
    for user in (ADMIN, MANAGER, STRANGER):
        for text in ("kpi", "partner acme", "me", "content", "help", "tips off", "register"):
            assert slack_reply(empty_world, user, text) == cli_reply(cli, user, text), text
    assert "holds no partners yet" in words(cli_reply(cli, ADMIN, "kpi"))


@pytest.fixture
def broken_world(fake, tmp_path: Path) -> Iterator[tuple[SlackWorld, str]]:
    """The app with its database gone: a SQLite file in a folder that does not exist."""
    url = f"sqlite:///{tmp_path / 'gone' / 'prm.db'}"
    engine = create_engine(url)
    settings = make_settings(url, fake)
    bolt = build_app(settings, engine, clock=lambda: AS_OF)
    base, server, thread = _serve(create_web_app(bolt, engine, settings, clock=lambda: AS_OF))
    yield SlackWorld(base, fake, engine, settings), url
    server.should_exit = True
    thread.join(timeout=5)
    engine.dispose()


def test_the_database_unavailable(broken_world, cli):
    world, url = broken_world
    env = {"PRM_DATABASE_URL": url}
    for text in ("help", "wat", "kpi 2026-13", "kpi", "me", "tips off", "register deal"):
        by_cli = cli_reply(cli, MANAGER, text, env=env)
        assert slack_reply(world, MANAGER, text) == by_cli, text
    assert "temporarily unavailable" in words(cli_reply(cli, MANAGER, "kpi", env=env))
    plain = cli("slack", "ask", MANAGER, "kpi", env={**ENV, **env})
    assert plain.exit_code == 0 and plain.output.startswith("[unknown, en]")


def test_slack_refusing_to_open_the_form_is_said_where_it_was_asked(world):
    world.fake.fail_next("views.open", "expired_trigger_id")
    assert "could not open the form" in words(world.answer(REP_EN, "register deal"))


def test_command_reply_answers_kpi_questions_only(world):
    from bot.domain.access import resolve_viewer
    from bot.slack.dispatch import question_of
    from bot.slack.replies import command_reply

    with world.engine.connect() as conn:
        viewer = resolve_viewer(conn, REP_EN, world.settings.admins)
        for text in ("tips off", "register deal"):
            with pytest.raises(ValueError, match="not a KPI question"):
                command_reply(
                    conn, world.settings, AS_OF, viewer, question_of(text, world.settings), "en"
                )
