"""`/prm …`: ack at once, then answer through the response_url.

Thin by design: parse → decide (bot.slack.replies) → send. Nothing here knows a KPI. `help`
and a misspelt argument are answered without the database, so they work while it is
away; any other question then gets "temporarily unavailable", never a stack trace.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.preferences import Outcome, set_tips
from bot.domain.questions import ParseError, Question, parse
from bot.handlers.context import AppContext
from bot.handlers.registration import open_register
from bot.slack import replies
from bot.slack.blocks import Rendered
from bot.slack.messages import render_message
from bot.slack.send import post_ephemeral, respond
from bot.store.engine import unavailable

log = logging.getLogger(__name__)


def handle_prm(ctx: AppContext, ack: Ack, command: dict[str, Any], client: WebClient) -> None:
    # Slack gives up after 3 s: acknowledge first, with no text, and answer below.
    ack()
    user_id = command.get("user_id", "")
    response_url = command.get("response_url", "")
    locale: str | None = None  # known once the asker is
    try:
        try:
            question: Question | None = parse(command.get("text", ""), ctx.settings.tz)
            error = None
        except ParseError as exc:
            question, error = None, exc
        if question is None or question.command == "help":
            locale = _locale_without_needing_the_database(ctx, client, user_id)
            if error is not None:
                reply = render_message("bad_argument", locale, code=error.code, word=error.word)
            else:
                reply = replies.help_reply(locale, question.unknown if question else None)
        else:
            viewer, locale = ctx.who(client, user_id)
            reply = _reply(ctx, viewer, question, command, locale, client)
            if reply is None:
                return  # a modal opened: nothing to say
    except Exception as exc:
        if unavailable(exc):
            log.warning("/prm from %s: database unavailable (%s)", user_id, type(exc).__name__)
            locale = locale or ctx.locales.locale_for(client, user_id, None)
            reply = render_message("unavailable", locale)
        else:
            ref = uuid.uuid4().hex[:8]
            log.exception("/prm failed (ref %s, user %s)", ref, user_id)
            reply = replies.oops(locale or ctx.settings.default_locale, ref)
    if not respond(response_url, reply):
        # An expired or refused response_url: say it in the channel, to the asker only.
        post_ephemeral(client, command.get("channel_id", ""), user_id, reply)


def _locale_without_needing_the_database(ctx: AppContext, client: WebClient, user: str) -> str:
    """The asker's language; with the database away, Slack's locale (or the default)."""
    try:
        return ctx.who(client, user)[1]
    except Exception as exc:
        if not unavailable(exc):
            raise
        return ctx.locales.locale_for(client, user, None)


def _reply(
    ctx: AppContext,
    viewer,
    question: Question,
    command: dict[str, Any],
    locale: str,
    client: WebClient,
) -> Rendered | None:
    if question.command == "register":
        return open_register(
            ctx,
            client,
            viewer.slack_user_id,
            question.switch or "lead",
            command.get("trigger_id", ""),
        )
    if question.command == "tips":
        with ctx.engine.begin() as conn:
            outcome = set_tips(conn, viewer.slack_user_id, question.switch == "on", ctx.clock())
        kind = "not_a_rep" if outcome is Outcome.NOT_A_REP else f"tips_{question.switch}"
        return render_message("action_result", locale, kind=kind)
    with ctx.engine.connect() as conn:
        return replies.command_reply(conn, ctx.settings, ctx.clock(), viewer, question, locale)
