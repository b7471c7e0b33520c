"""`message.im`: a person wrote to the bot in its Messages tab. The bot answers commands,
not chat, so it says how to ask: one short reply pointing to `/prm help`.

Owed in the ledger before it is sent (key: the user and the UTC day), so Slack's retries
of the same event, or a second replica, answer once; and someone who writes several
lines in a row gets one pointer a day, not one per line. The bot's own messages, other
bots' and every message subtype (edits, deletions, joins, files) are ignored.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient

from bot.handlers.context import AppContext, team_of
from bot.slack.delivery import post_payload
from bot.slack.messages import render_message
from bot.slack.outbox import send_now
from bot.store import ledger

log = logging.getLogger(__name__)
JOB = "dm-reply"
RETRY_FOR_HOURS = 1


def dm_key(user: str, day: str) -> str:
    return f"{JOB}:{user}:{day}"


def handle_direct_message(
    ctx: AppContext, event: dict[str, Any], body: dict[str, Any], client: WebClient
) -> None:
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
        return
    user, channel = event.get("user"), event.get("channel")
    if not user or not channel:
        return
    _, locale = ctx.who(client, user)
    message = render_message("dm_reply", locale)
    now, wall = ctx.clock(), ctx.wall()
    key = dm_key(user, now.date().isoformat())
    entry = ledger.Entry(key=key, job=JOB, kind="dm_reply", recipient=user)
    payload = post_payload(message, {"channel": channel}, team_of(body))
    with ctx.engine.begin() as conn:
        owed = ledger.enqueue(
            conn, entry, payload, now, wall, wall + timedelta(hours=RETRY_FOR_HOURS)
        )
    if owed:
        send_now(ctx.engine, client, [key], now=now, wall=wall)
