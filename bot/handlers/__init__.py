"""Slack listeners, one package per kind, all registered here and nowhere else."""

from __future__ import annotations

from functools import partial

from slack_bolt import App

from bot.handlers import actions, commands, events, views
from bot.handlers.context import AppContext
from bot.handlers.errors import on_listener_error
from bot.handlers.middleware import drop_nul_characters


def register_all(app: App, ctx: AppContext) -> None:
    app.middleware(drop_nul_characters)
    app.error(partial(on_listener_error, ctx))
    for kind in (commands, actions, views, events):
        kind.register(app, ctx)
