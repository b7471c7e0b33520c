"""Sending to Slack, with failures recorded rather than raised into Bolt's worker."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.blocks import Rendered
from bot.slack.client import slack_error, webhook

log = logging.getLogger(__name__)


def respond(response_url: str, reply: Rendered) -> bool:
    """Post an ephemeral answer to a slash command's response_url; False if it failed."""
    if not response_url:
        log.warning("no response_url to answer on")
        return False
    try:
        result = webhook(response_url).send(
            text=reply.text, blocks=reply.blocks, response_type="ephemeral"
        )
    except (SlackApiError, OSError) as exc:
        log.error("response_url post failed: %s", type(exc).__name__)
        return False
    if result.status_code != 200:
        # The URL is a secret capability: log the status and Slack's answer, not the URL.
        log.error("response_url answered %s: %s", result.status_code, result.body[:200])
        return False
    return True


def post_ephemeral(client: WebClient, channel: str, user: str, reply: Rendered) -> bool:
    """The fallback when a response_url cannot be used (it lives 30 minutes, 5 posts)."""
    if not channel:
        return False
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=reply.text, blocks=reply.blocks)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.error("chat.postEphemeral to %s failed: %s", user, slack_error(exc))
        return False
    return True


def update_in_place(body: dict[str, Any], reply: Rendered, replace: bool) -> bool:
    """Answer a button press through its response_url: `replace` rewrites the message it
    was on (its text kept, its buttons swapped for the outcome); otherwise a new ephemeral
    note to the presser."""
    url = body.get("response_url")
    if not url:
        return False
    if replace:
        original = (body.get("message") or {}).get("blocks", [])
        kept = [verbatim(b) for b in original if b.get("type") != "actions"]
        context = {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": reply.text, "verbatim": True}],
        }
        payload = {"replace_original": True, "text": reply.text, "blocks": [*kept, context][-50:]}
    else:
        payload = {
            "response_type": "ephemeral",
            "replace_original": False,
            "text": reply.text,
            "blocks": reply.blocks,
        }
    try:
        result = webhook(url).send_dict(payload)
    except (SlackApiError, OSError) as exc:
        log.error("response_url post failed: %s", type(exc).__name__)
        return False
    return result.status_code == 200


def verbatim(node: Any) -> Any:
    """Slack's echo of a message we sent, with every mrkdwn text verbatim again (the
    echo need not keep the flag): sent back, its data stays text."""
    if isinstance(node, dict):
        out = {k: verbatim(v) for k, v in node.items()}
        if out.get("type") == "mrkdwn":
            out["verbatim"] = True
        return out
    if isinstance(node, list):
        return [verbatim(v) for v in node]
    return node
