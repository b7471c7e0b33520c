"""Reading what the app sent: all the words of a message or view, for assertions."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any
from urllib.parse import urlencode

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def words(payload: dict[str, Any]) -> str:
    """Every text field of a payload (fallback, blocks, view), joined."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str) and node.startswith(("{", "[")):
            with contextlib.suppress(ValueError):
                walk(json.loads(node))

    walk(payload)
    return "\n".join(found)


def japanese_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if JAPANESE.match(c)) / max(1, len(letters))


def button_press(
    user: str,
    action_id: str,
    value: str,
    response_url: str,
    *,
    blocks: list[dict[str, Any]] | None = None,
    trigger_id: str = "1.2.3",
) -> str:
    """The form body Slack posts when `user` presses a button on a bot message in a DM."""
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": user},
        "api_app_id": "A0001",
        "trigger_id": trigger_id,
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "D1"},
        "channel": {"id": "D1"},
        "message": {"ts": "1.1", "text": "x", "blocks": blocks or []},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value}],
    }
    return urlencode({"payload": json.dumps(payload)})
