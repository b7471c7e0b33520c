"""Buttons on next-action nudges: "Stop these tips", and the register calls to action."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.tips import Outcome, stop_tips
from bot.handlers.context import AppContext, teams_of
from bot.handlers.registration import open_register
from bot.slack.ids import NUDGE_REGISTER_LEAD
from bot.slack.messages import render_message
from bot.slack.send import update_in_place


def handle_stop_tips(
    ctx: AppContext, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
) -> None:
    ack()
    user = body["user"]["id"]
    with ctx.engine.begin() as conn:
        outcome = stop_tips(conn, user, action.get("value", ""), ctx.settings.admins, ctx.clock())
    kind = "tips_stopped" if outcome is Outcome.DONE else outcome.value
    result = render_message("action_result", ctx.who(client, user)[1], kind=kind)
    update_in_place(body, result, replace=outcome is Outcome.DONE)


def handle_register(
    ctx: AppContext, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
) -> None:
    """Register buttons (nudges, App Home) open the registration modal."""
    ack()
    kind = "lead" if action["action_id"] == NUDGE_REGISTER_LEAD else "deal"
    refusal = open_register(
        ctx, client, body["user"]["id"], kind, body.get("trigger_id", ""), teams_of(body)
    )
    if refusal is not None:
        update_in_place(body, refusal, replace=False)
