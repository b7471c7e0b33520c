"""`/prm TEXT` from one person → what they are shown: the one path every `/prm` form takes,
for the Slack listener (bot/handlers/commands/prm.py) and `prm slack ask` alike.

    reply = dispatch(engine, settings, now, viewer, text, locale)

The reply is a message (`Rendered`: text + blocks, sent through the response_url) or a
`Modal` (a view for `views.open`). The form's side effect happens here, once, for both
callers: `tips on|off` stores the preference. `help` and a misspelt argument need no
database, and neither does a `viewer` of None — "the database could not say who asks" —
which answers anything else with "temporarily unavailable".

No Slack I/O here except `open_modal`, which the listeners call to show a `Modal`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Connection, Engine

from bot.core import numbers
from bot.core.settings import Settings
from bot.domain import worklist
from bot.domain.access import Viewer, resolve_viewer
from bot.domain.questions import ParseError, Question, parse
from bot.domain.tips import Outcome, set_tips
from bot.slack import replies
from bot.slack.blocks import Rendered, unescape
from bot.slack.client import slack_error
from bot.slack.locale import pick_locale, stored_locale
from bot.slack.messages import render_message
from bot.slack.modals import register_modal
from bot.store.engine import describe_problem, unavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Modal:
    """A form to open instead of a message: the view as `views.open` takes it."""

    view: dict[str, Any]


Reply = Rendered | Modal


def question_of(text: str, settings: Settings) -> Question:
    """Slack's command text as people typed it (Slack sends `<`, `>`, `&` escaped), read.
    Raises ParseError."""
    return parse(unescape(text or ""), settings.tz)


def dispatch(
    engine: Engine,
    settings: Settings,
    now: datetime,
    viewer: Viewer | None,
    text: str,
    locale: str,
) -> Reply:
    try:
        question = question_of(text, settings)
    except ParseError as exc:
        return render_message("bad_argument", locale, code=exc.code, word=exc.word)
    if question.command == "help":
        return replies.help_reply(locale, question.unknown)
    if viewer is None:
        return render_message("unavailable", locale)
    try:
        return _answer(engine, settings, now, viewer, question, locale)
    except Exception as exc:
        if not unavailable(exc):
            raise
        log.warning(
            "/prm %s from %s: database unavailable (%s)",
            question.command,
            viewer.slack_user_id,
            describe_problem(exc),
        )
        return render_message("unavailable", locale)


def _answer(
    engine: Engine,
    settings: Settings,
    now: datetime,
    viewer: Viewer,
    question: Question,
    locale: str,
) -> Reply:
    if question.command == "register":
        return register_reply(viewer, question.switch or "lead", locale)
    if question.command == "tips":
        with engine.begin() as conn:
            outcome = set_tips(conn, viewer.slack_user_id, question.switch == "on", now)
        kind = "not_a_rep" if outcome is Outcome.NOT_A_REP else f"tips_{question.switch}"
        return render_message("action_result", locale, kind=kind)
    if question.command == "todo":
        with engine.connect() as conn:
            return todo_reply(conn, settings, now, viewer, locale)
    with engine.connect() as conn:
        return replies.command_reply(conn, settings, now, viewer, question, locale)


def todo_reply(
    conn: Connection, settings: Settings, now: datetime, viewer: Viewer, locale: str
) -> Rendered:
    """`/prm todo`: the viewer's worklist (docs/worklist.md); only for people with a book."""
    if not worklist.may_use(viewer):
        return render_message("todo", locale, view="not_manager")
    money = partial(numbers.money, currency=settings.currency, locale=locale)
    listing = worklist.listing(conn, settings, now, viewer)
    return render_message("todo", locale, money=money, **listing)


def register_reply(viewer: Viewer, kind: str, locale: str) -> Reply:
    """`/prm register [lead|deal]` and the Register buttons: the form, for reps only."""
    if viewer.rep is None:
        return render_message("action_result", locale, kind="register_not_rep")
    return Modal(register_modal(kind, locale))


def who(
    engine: Engine,
    settings: Settings,
    user_id: str,
    slack_locale: str | Callable[[], str | None] | None = None,
    *,
    teams: tuple[str | None, str | None] = (None, None),
) -> tuple[Viewer, str]:
    """Who asks (their role, for access: `teams` is (their own workspace, the one that got
    the request)) and the language they read: stored locale, else `slack_locale` (asked
    only then), else the default. Raises when the database is away."""
    with engine.connect() as conn:
        viewer = resolve_viewer(conn, user_id, settings.admins, *teams)
    return viewer, pick_locale(stored_locale(viewer), slack_locale, settings.default_locale)


def open_modal(client: WebClient, trigger_id: str, modal: Modal, locale: str) -> Rendered | None:
    """Open the form (views.open); None when it opened, else the message to show instead."""
    try:
        client.views_open(trigger_id=trigger_id, view=modal.view)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.error("views.open failed: %s", slack_error(exc))
        return render_message("action_result", locale, kind="modal_failed")
    return None
