"""Events API listeners."""

from __future__ import annotations

from functools import partial

from slack_bolt import App

from bot.handlers.context import AppContext
from bot.handlers.errors import guarded
from bot.handlers.events.dm import handle_direct_message
from bot.handlers.events.home import handle_app_home_opened


def register(app: App, ctx: AppContext) -> None:
    app.event("app_home_opened")(guarded(ctx, partial(handle_app_home_opened, ctx)))
    # message.im: a DM to the bot gets a pointer to /prm help (bot/handlers/events/dm.py).
    app.event("message")(guarded(ctx, partial(handle_direct_message, ctx)))
