"""Reading what the app sent: all the words of a message or view, for assertions."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

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
