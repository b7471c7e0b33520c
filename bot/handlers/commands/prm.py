"""`/prm …`: ack at once, then answer through the response_url.

Thin by design: ack → who asks, in which language → decide (bot.slack.dispatch, the same
path `prm slack ask` takes) → send: the message, or the modal through `views.open`.
Nothing here knows a KPI. `help` and a misspelt argument are answered without the
database, so they work while it is away; any other question then gets "temporarily
unavailable", never a stack trace.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.access import Viewer
from bot.handlers.context import AppContext, Teams, teams_of
from bot.slack import replies
from bot.slack.blocks import Rendered
from bot.slack.dispatch import Modal, dispatch, open_modal
from bot.slack.messages import render_message
from bot.slack.send import post_ephemeral, respond
from bot.store.engine import unavailable
from bot.store.partners import partner_of_channel

log = logging.getLogger(__name__)


def handle_prm(ctx: AppContext, ack: Ack, command: dict[str, Any], client: WebClient) -> None:
    # Slack gives up after 3 s: acknowledge first, with no text, and answer below.
    ack()
    user_id = command.get("user_id", "")
    response_url = command.get("response_url", "")
    locale: str | None = None  # known once the asker is
    try:
        viewer, locale = _who(ctx, client, user_id, teams_of(command))
        reply = dispatch(
            ctx.engine, ctx.settings, ctx.clock(), viewer, command.get("text", ""), locale
        )
        if isinstance(reply, Modal):
            refusal = open_modal(client, command.get("trigger_id", ""), reply, locale)
            if refusal is None:
                return  # the modal opened: nothing to say
            reply = refusal
    except Exception as exc:
        if unavailable(exc):
            log.warning("/prm from %s: database unavailable (%s)", user_id, type(exc).__name__)
            locale = locale or ctx.locales.locale_for(client, user_id, None)
            reply = render_message("unavailable", locale)
        else:
            ref = uuid.uuid4().hex[:8]
            log.exception("/prm failed (ref %s, user %s)", ref, user_id)
            reply = replies.oops(locale or ctx.settings.default_locale, ref)
    if viewer is not None and isinstance(reply, Rendered):
        reply = _warn_in_shared_channel(ctx, viewer, command.get("channel_id", ""), reply, locale)
    if not respond(response_url, reply):
        # An expired or refused response_url: say it in the channel, to the asker only.
        post_ephemeral(client, command.get("channel_id", ""), user_id, reply)


def _who(ctx: AppContext, client: WebClient, user: str, teams: Teams) -> tuple[Viewer | None, str]:
    """The asker and their language; with the database away, no viewer (the dispatcher
    then answers help, or "temporarily unavailable") and Slack's locale, or the default."""
    try:
        return ctx.who(client, user, teams)
    except Exception as exc:
        if not unavailable(exc):
            raise
        log.warning("/prm from %s: database unavailable (%s)", user, type(exc).__name__)
        return None, ctx.locales.locale_for(client, user, None)


def _warn_in_shared_channel(
    ctx: AppContext, viewer: Viewer, channel_id: str, reply: Rendered, locale: str | None
) -> Rendered:
    """The vendor's people asking in a partner's shared channel see their own scope (the
    answer is ephemeral, as everywhere), headed by a reminder of who else is in there:
    nothing the bot posts in a partner channel is ever about another partner."""
    if viewer.partner_side or not viewer.sees_figures or not channel_id:
        return reply
    try:
        with ctx.engine.connect() as conn:
            shared = partner_of_channel(conn, channel_id)
    except Exception as exc:
        if not unavailable(exc):
            raise
        return reply
    if shared is None:
        return reply
    note = render_message("shared_note", locale or ctx.settings.default_locale, partner=shared[1])
    return Rendered(note.blocks + reply.blocks, note.text + "\n" + reply.text)
