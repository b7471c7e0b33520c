"""What happens when a listener fails: one handler for all of them (Bolt's `app.error`).

The database being away is not a bug: the person gets "temporarily unavailable" where
they pressed or typed (the response_url), and the log gets one line. Anything else is
logged with a reference the person is given, and a traceback for us, never for them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from bot.db import unavailable
from bot.handlers.context import AppContext
from bot.handlers.send import update_in_place
from bot.i18n import render_message

log = logging.getLogger(__name__)


def on_listener_error(ctx: AppContext, error: Exception, body: dict[str, Any]) -> None:
    user = str((body.get("user") or {}).get("id") or body.get("user_id") or "")
    kind = body.get("type") or ("command" if body.get("command") else "event")
    locale = ctx.settings.default_locale
    if unavailable(error):
        log.warning("%s from %s: database unavailable (%s)", kind, user, type(error).__name__)
        reply = render_message("unavailable", locale)
    else:
        ref = uuid.uuid4().hex[:8]
        log.error("%s from %s failed (ref %s)", kind, user, ref, exc_info=error)
        reply = render_message("oops", locale, ref=ref)
    if body.get("response_url"):
        update_in_place(body, reply, replace=False)


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
            on_listener_error(ctx, exc, body if isinstance(body, dict) else {})
            return None

    run.__wrapped__ = listener  # type: ignore[attr-defined]  # Bolt reads the argument names
    return run
