"""Block Kit from a small line markup, so that templates hold words, not JSON.

A template renders lines; this module turns them into blocks:

    # Title                     header block (plain text, ≤ 150 chars)
    ---                         divider
    > small print               context block (mrkdwn)
    [[action_id|value]] Label   a button (consecutive buttons share one actions block;
    [[action_id|value|primary]] Label    a third field sets the style;
    [[url|https://…]] Label     a link button)
    any other lines             one mrkdwn section per paragraph (blank line ends it)

Slack's limits are enforced here, before anything is sent: a section over 3,000 chars is
split, more blocks than allowed are cut with a final note, and every block is checked
with slack_sdk's own models, so a payload Slack would reject never leaves the bot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack_meta import LINK_PREFIX

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
SECTION_MAX = 3000
HEADER_MAX = 150
CONTEXT_MAX = 2000
FALLBACK_MAX = 3000
BUTTON = re.compile(r"^\[\[([^|\]]+)\|([^|\]]*)(?:\|(primary|danger))?\]\]\s*(.+)$")


@dataclass(frozen=True)
class Rendered:
    """A message ready for Slack: blocks plus the plain-text fallback every message needs."""

    blocks: list[dict[str, Any]]
    text: str


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: only &, < and > (partner names must not become links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> list[dict[str, Any]]:
    chunks: list[str] = []
    while len(text) > SECTION_MAX:
        cut = text.rfind("\n", 0, SECTION_MAX)
        cut = cut if cut > 0 else SECTION_MAX
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in chunks if c]


def parse_markup(markup: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    paragraph: list[str] = []
    buttons: list[dict[str, Any]] = []

    def flush() -> None:
        if paragraph:
            blocks.extend(_section("\n".join(paragraph).strip("\n")))
            paragraph.clear()
        if buttons:
            blocks.append({"type": "actions", "elements": buttons[:25]})
            buttons.clear()

    for raw in markup.splitlines():
        line = raw.rstrip()
        if match := BUTTON.match(line.strip()):
            if paragraph:
                blocks.extend(_section("\n".join(paragraph)))
                paragraph.clear()
            action_id, value, style, label = match.groups()
            button: dict[str, Any] = {
                "type": "button",
                "action_id": action_id,
                "text": {"type": "plain_text", "text": _cut(unescape(label), 75), "emoji": True},
            }
            if action_id == "url":
                button["action_id"] = f"{LINK_PREFIX}{len(buttons)}"
                button["url"] = unescape(value)[:3000]
            elif value:
                button["value"] = value[:2000]
            if style:
                button["style"] = style
            buttons.append(button)
        elif line.startswith("# "):
            flush()
            text = _cut(unescape(line[2:].strip()), HEADER_MAX)
            blocks.append({"type": "header", "text": {"type": "plain_text", "text": text}})
        elif line.strip() == "---":
            flush()
            blocks.append({"type": "divider"})
        elif line.startswith("> "):
            flush()
            text = _cut(line[2:].strip(), CONTEXT_MAX)
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
        elif not line.strip():
            flush()
        else:
            if buttons:
                flush()
            paragraph.append(line)
    flush()
    return blocks


def fallback_text(blocks: list[dict[str, Any]]) -> str:
    """Header and first section: what notifications and screen readers show."""
    parts = []
    for block in blocks:
        if block["type"] == "header":
            parts.append(escape(block["text"]["text"]))  # plain text in, mrkdwn out
        elif block["type"] == "section":
            parts.append(block["text"]["text"])
            break
    return _cut("\n".join(parts) or "PRM", FALLBACK_MAX)


def cap(blocks: list[dict[str, Any]], limit: int, note: str) -> list[dict[str, Any]]:
    if len(blocks) <= limit:
        return blocks
    return [
        *blocks[: limit - 1],
        {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]},
    ]


def validate(blocks: list[dict[str, Any]], limit: int) -> None:
    """Raise ValueError if Slack would reject these blocks."""
    if len(blocks) > limit:
        raise ValueError(f"{len(blocks)} blocks; Slack allows {limit}")
    for block in blocks:
        parsed = Block.parse(block)
        if parsed is None:
            raise ValueError(f"unknown block {block!r}")
        parsed.validate_json()


def message(markup: str, more_note: str = "…") -> Rendered:
    blocks = cap(parse_markup(markup), MESSAGE_MAX_BLOCKS, more_note)
    validate(blocks, MESSAGE_MAX_BLOCKS)
    return Rendered(blocks, fallback_text(blocks))


def home_view(markup: str, more_note: str = "…") -> dict[str, Any]:
    blocks = cap(parse_markup(markup), VIEW_MAX_BLOCKS, more_note)
    validate(blocks, VIEW_MAX_BLOCKS)
    view = {"type": "home", "blocks": blocks}
    View(**view).validate_json()
    return view


def to_plain(blocks: list[dict[str, Any]]) -> str:
    """Blocks as terminal text: for `prm slack ask` and job dry runs."""
    lines = []
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            lines.append(f"== {unescape(block['text']['text'])} ==")
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "context":
            lines.append("  " + " ".join(unescape(e.get("text", "")) for e in block["elements"]))
        elif kind == "actions":
            lines.append("  " + "  ".join(f"[{e['text']['text']}]" for e in block["elements"]))
        else:
            lines.append(unescape(block.get("text", {}).get("text", "")))
    return "\n".join(lines)
