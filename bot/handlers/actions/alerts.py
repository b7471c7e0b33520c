"""Ack and "Snooze 14 days" on coaching alerts."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.alerts import Outcome, ack_alert, snooze_alert
from bot.handlers.context import AppContext
from bot.slack.ids import ALERT_ACK
from bot.slack.messages import render_message
from bot.slack.send import update_in_place


def handle_alert(
    ctx: AppContext, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
) -> None:
    ack()
    user = body["user"]["id"]
    episode = action.get("value", "")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        if action["action_id"] == ALERT_ACK:
            outcome = ack_alert(conn, episode, user, ctx.settings.admins, now)
            kind = "alert_acked"
        else:
            days = ctx.settings.snooze_days
            outcome = snooze_alert(conn, episode, user, ctx.settings.admins, now, days)
            kind = "alert_snoozed"
    _, locale = ctx.who(client, user)
    if outcome is not Outcome.DONE:
        update_in_place(body, render_message("action_result", locale, kind=outcome.value), False)
        return
    result = render_message(
        "action_result", locale, kind=kind, user=user, days=ctx.settings.snooze_days
    )
    update_in_place(body, result, replace=True)
