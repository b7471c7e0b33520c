"""Ack and "Snooze 14 days" on the items of a coaching digest (and on a single alert).

A digest holds many items, each with its own pair of buttons: a press answers that one
item — its buttons give way to the outcome, the rest of the digest keeps its buttons.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.alerts import Outcome, ack_alert, snooze_alert
from bot.handlers.context import AppContext
from bot.slack.blocks import Rendered
from bot.slack.client import webhook
from bot.slack.ids import ALERT_ACK
from bot.slack.messages import render_message
from bot.slack.send import update_in_place, verbatim

log = logging.getLogger(__name__)


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
    if not _answer_item(body, action, result):
        update_in_place(body, result, replace=True)


def _answer_item(body: dict[str, Any], action: dict[str, Any], result: Rendered) -> bool:
    """In a message with several items (a digest), swap only the pressed item's buttons
    for the outcome. False when the message has one set of buttons (or its blocks are
    unknown): then the usual in-place update does."""
    url = body.get("response_url")
    original = (body.get("message") or {}).get("blocks") or []
    block_id = action.get("block_id")
    button_rows = [b for b in original if b.get("type") == "actions"]
    if not url or not block_id or len(button_rows) < 2:
        return False
    if not any(b.get("block_id") == block_id for b in button_rows):
        return False
    outcome = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": result.text, "verbatim": True}],
    }
    blocks = [outcome if b.get("block_id") == block_id else verbatim(b) for b in original]
    text = (body.get("message") or {}).get("text") or result.text
    try:
        sent = webhook(url).send_dict({"replace_original": True, "text": text, "blocks": blocks})
    except (SlackApiError, OSError) as exc:
        log.error("response_url post failed: %s", type(exc).__name__)
        return True  # answered in the database; the message stays as it was
    if sent.status_code != 200:
        log.error("response_url answered %s", sent.status_code)
    return True
