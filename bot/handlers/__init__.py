"""Slack listeners, one package per kind, all registered here and nowhere else."""

from __future__ import annotations

from slack_bolt import App

from bot.handlers import actions, commands, events, views
from bot.handlers.context import AppContext


def register_all(app: App, ctx: AppContext) -> None:
    for kind in (commands, actions, views, events):
        kind.register(app, ctx)
