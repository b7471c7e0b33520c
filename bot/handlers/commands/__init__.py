"""Slash-command listeners."""

from __future__ import annotations

from functools import partial

from slack_bolt import App

from bot.handlers.commands.prm import handle_prm
from bot.handlers.context import AppContext
from bot.handlers.errors import guarded
from bot.slack.ids import COMMAND


def register(app: App, ctx: AppContext) -> None:
    app.command(COMMAND)(guarded(ctx, partial(handle_prm, ctx)))
