"""What happens when a listener fails: one handler for all of them (Bolt's `app.error`).

The database being away is not a bug: the person gets "temporarily unavailable" where
they pressed or typed (the response_url), and the log gets one line. Anything else is
logged with a reference the person is given, and a traceback for us, never for them.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.handlers.context import AppContext
from bot.slack.client import slack_error
from bot.slack.messages import render_message
from bot.slack.send import update_in_place
from bot.store.engine import unavailable

log = logging.getLogger(__name__)


def on_listener_error(
    ctx: AppContext, error: Exception, body: dict[str, Any], client: WebClient | None = None
) -> None:
    user = str((body.get("user") or {}).get("id") or body.get("user_id") or "")
    kind = body.get("type") or ("command" if body.get("command") else "event")
    locale = ctx.settings.default_locale
    if client is not None and user:
        locale = ctx.locales.locale_for(client, user, None)  # Slack's: the database may be away
    if unavailable(error):
        log.warning("%s from %s: database unavailable (%s)", kind, user, type(error).__name__)
        reply = render_message("unavailable", locale)
    else:
        ref = uuid.uuid4().hex[:8]
        log.error("%s from %s failed (ref %s)", kind, user, ref, exc_info=error)
        reply = render_message("oops", locale, ref=ref)
    if body.get("response_url"):
        update_in_place(body, reply, replace=False)
    elif kind == "view_submission" and client is not None and user:
        # A form that closed on submit has nowhere else to say it: the person's DM with the
        # bot. Not through the ledger, which lives in the database that may be the problem.
        try:
            client.chat_postMessage(channel=user, text=reply.text, blocks=reply.blocks)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("could not tell %s: %s", user, slack_error(exc))


def guarded(ctx: AppContext, listener: Callable[..., Any]) -> Callable[..., Any]:
    """The listener, never raising: a listener that raises after its ack can still turn
    Slack's HTTP answer into a 500 (Bolt resets the ack), so failures end here instead."""

    def run(**kwargs: Any) -> Any:
        try:
            return listener(**kwargs)
        except Exception as exc:
            ack = kwargs.get("ack")
            if ack is not None and getattr(ack, "response", None) is None:
                ack()  # failed before acknowledging: Slack would show its own error
            body = kwargs.get("body") or kwargs.get("command") or {}
            body = body if isinstance(body, dict) else {}
            on_listener_error(ctx, exc, body, kwargs.get("client"))
            return None

    # Bolt reads the argument names through `__wrapped__`; set only that, keeping run's name.
    return functools.update_wrapper(run, listener, assigned=(), updated=())
