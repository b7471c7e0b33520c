"""Block action listeners (buttons)."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.handlers.context import AppContext
from bot.handlers.events.home import publish_home
from bot.kpi.periods import PeriodError, parse_period
from bot.slack_meta import HOME_PERIOD, HOME_PERIODS


def register(app: App, ctx: AppContext) -> None:
    for period in HOME_PERIODS:
        app.action(HOME_PERIOD + period)(partial(handle_home_period, ctx))


def handle_home_period(
    ctx: AppContext, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
) -> None:
    """A period button on App Home: re-publish the dashboard for that period."""
    ack()
    value = action.get("value", "")
    try:
        period = parse_period(value, ctx.settings.tz) if value in HOME_PERIODS else None
    except PeriodError:
        period = None
    publish_home(ctx, client, body["user"]["id"], period)
