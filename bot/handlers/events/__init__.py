"""Events API listeners."""

from __future__ import annotations

from functools import partial

from slack_bolt import App

from bot.handlers.context import AppContext
from bot.handlers.errors import guarded
from bot.handlers.events.home import handle_app_home_opened


def register(app: App, ctx: AppContext) -> None:
    app.event("app_home_opened")(guarded(ctx, partial(handle_app_home_opened, ctx)))
