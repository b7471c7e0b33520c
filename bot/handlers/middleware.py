"""Global Bolt middleware: what every request gets before any listener sees it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _strip_nul(node: Any) -> Any:
    if isinstance(node, str):
        return node.replace("\x00", "") if "\x00" in node else node
    if isinstance(node, dict):
        for key, value in list(node.items()):
            clean = _strip_nul(value)
            if clean is not value:
                node[key] = clean
        return node
    if isinstance(node, list):
        for index, value in enumerate(node):
            clean = _strip_nul(value)
            if clean is not value:
                node[index] = clean
        return node
    return node


def drop_nul_characters(body: dict[str, Any], next: Callable[[], Any]) -> Any:
    """NUL has no meaning in anything a person types into Slack, and PostgreSQL cannot
    store or even compare it: removed from the whole payload, in place (the `command`,
    `action` and `view` a listener gets are parts of it), before anything is parsed."""
    _strip_nul(body)
    return next()
