"""Block action listeners (buttons)."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.handlers import registration
from bot.handlers.actions.alerts import handle_alert
from bot.handlers.actions.connect import handle_connect_open
from bot.handlers.actions.nudges import handle_register, handle_stop_tips
from bot.handlers.actions.tiers import handle_tier
from bot.handlers.actions.worklist import ACTIONS as WORKLIST_ACTIONS
from bot.handlers.actions.worklist import handle_worklist
from bot.handlers.context import AppContext, teams_of
from bot.handlers.errors import guarded
from bot.handlers.events.home import publish_home
from bot.kpi.periods import PeriodError, parse_period
from bot.slack.ids import (
    ALERT_ACK,
    ALERT_SNOOZE,
    HOME_PERIOD,
    HOME_PERIODS,
    LINK_PREFIX,
    NUDGE_REGISTER_DEAL,
    NUDGE_REGISTER_LEAD,
    NUDGE_STOP,
    PARTNER_CONNECT,
    REG_APPROVE,
    REG_REJECT,
    REG_WON,
    TIER_KEEP,
    TIER_PROMOTE,
)


def register(app: App, ctx: AppContext) -> None:
    for period in HOME_PERIODS:
        app.action(HOME_PERIOD + period)(guarded(ctx, partial(handle_home_period, ctx)))
    app.action(NUDGE_STOP)(guarded(ctx, partial(handle_stop_tips, ctx)))
    for action_id in (NUDGE_REGISTER_LEAD, NUDGE_REGISTER_DEAL):
        app.action(action_id)(guarded(ctx, partial(handle_register, ctx)))
    app.action(REG_APPROVE)(guarded(ctx, partial(registration.handle_approve, ctx)))
    app.action(REG_REJECT)(guarded(ctx, partial(registration.handle_reject_open, ctx)))
    app.action(REG_WON)(guarded(ctx, partial(registration.handle_won, ctx)))
    for action_id in WORKLIST_ACTIONS:  # the worklist's four buttons (/prm todo)
        app.action(action_id)(guarded(ctx, partial(handle_worklist, ctx)))
    for action_id in (ALERT_ACK, ALERT_SNOOZE):
        app.action(action_id)(guarded(ctx, partial(handle_alert, ctx)))
    app.action(PARTNER_CONNECT)(guarded(ctx, partial(handle_connect_open, ctx)))
    for action_id in (TIER_PROMOTE, TIER_KEEP):  # the scorecard's tier check
        app.action(action_id)(guarded(ctx, partial(handle_tier, ctx)))
    # Link buttons open their URL in the browser; Slack still reports the click.
    app.action(re.compile("^" + re.escape(LINK_PREFIX)))(lambda ack: ack())


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
    publish_home(ctx, client, body["user"]["id"], period, teams=teams_of(body))
