"""Modal (view submission) listeners."""

from __future__ import annotations

from functools import partial

from slack_bolt import App

from bot.handlers import registration
from bot.handlers.actions.connect import handle_connect_submit
from bot.handlers.context import AppContext
from bot.handlers.errors import guarded
from bot.slack.ids import CONNECT_VIEW, REGISTER_VIEW, REJECT_VIEW


def register(app: App, ctx: AppContext) -> None:
    app.view(REGISTER_VIEW)(guarded(ctx, partial(registration.handle_register_submit, ctx)))
    app.view(REJECT_VIEW)(guarded(ctx, partial(registration.handle_reject_submit, ctx)))
    app.view(CONNECT_VIEW)(guarded(ctx, partial(handle_connect_submit, ctx)))
