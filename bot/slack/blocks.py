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

Data is never markup. Every value a template receives from the data goes through
`inert()` first: it is escaped for mrkdwn (so `<!channel>` or `<https://x|y>` stay text)
and each character the line markup gives a meaning (line breaks, `[`, `]`, `|`, `#`,
`-`) is swapped for a private-use stand-in that no rule above matches. The markup is
parsed into blocks with the stand-ins in place, so only the template's own text can make
a block, a button, a link or a header; then each text field gets the real characters
back (`restore`). A line break inside a value stays a line break in mrkdwn text and a
space in plain text. Every mrkdwn text object is sent `verbatim`, so Slack does not turn
a bare URL, a channel name or `@here` in the data into a link or a mention either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack.ids import LINK_PREFIX

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
SECTION_MAX = 3000
HEADER_MAX = 150
CONTEXT_MAX = 2000
FALLBACK_MAX = 3000
BUTTON = re.compile(r"^\[\[([^|\]]+)\|([^|\]]*)(?:\|(primary|danger))?\]\]\s*(.+)$")
# One value is at most this long once rendered, so no name or title can push a message
# past Slack's limits (ten names in a list still fit one section) or crowd out the rest;
# the texts people write (a deal's notes, a reject reason) get more room.
DATA_MAX = 256
LONG_DATA_MAX = 1500

# The markup's characters and their stand-ins (Unicode private use area, U+E000…).
_MARKUP_CHARS = "\n[]|#-"
_STAND_INS = "".join(chr(0xE000 + i) for i in range(len(_MARKUP_CHARS)))
_TO_STAND_IN = str.maketrans(_MARKUP_CHARS, _STAND_INS)
_FROM_STAND_IN = str.maketrans(_STAND_INS, _MARKUP_CHARS)
_NEWLINE_STAND_IN = _STAND_INS[0]
# C0 controls (NUL included) and DEL have no place in a message: each shows as U+FFFD;
# a tab reads as a space. The bidirectional overrides, embeddings and isolates could
# reorder the template's own text around a value ("approved" shown backwards): dropped.
# A value's own private-use characters would pass for stand-ins: U+FFFD too.
_CLEAN = {c: "\ufffd" for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F]}
_CLEAN |= {c: None for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}
# Line and paragraph separators are line breaks, kept as such (a stand-in, like "\n").
_CLEAN |= {0x09: " ", 0x0D: "\n", 0x85: "\n", 0x2028: "\n", 0x2029: "\n"}
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


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


def inert(value: str, limit: int = DATA_MAX) -> str:
    """A data value as template input: escaped for mrkdwn, unable to form markup.

    A value that is blank once cleaned (spaces, or only invisible controls) shows as
    U+FFFD rather than vanishing, so it cannot turn a header or a line into nothing.
    """
    text = _PRIVATE_USE.sub("\ufffd", value.replace("\r\n", "\n").translate(_CLEAN))
    if value and not text.strip():
        text = "\ufffd"
    return escape(_cut(text, limit)).translate(_TO_STAND_IN)


URL_MAX = 3000  # Slack's limit for a button's url
# What may stay as it is in a URL inside Slack's `<url|label>`: the reserved and unreserved
# characters of RFC 3986, and `%` (already encoded). `|`, `<`, `>`, spaces, quotes and the
# like are percent-encoded, so a URL can never end its link early or turn into a label.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


def inert_url(value: str) -> str:
    """A URL as template input: percent-encoded where Slack's link syntax would read it
    differently, never cut (a cut link is a broken link), then inert like any value."""
    from urllib.parse import quote

    text = _PRIVATE_USE.sub("", value.translate(_CLEAN)).replace("\n", "")
    return inert(quote(text.strip(), safe=_URL_SAFE), URL_MAX)


def restore(text: str, *, plain: bool = False) -> str:
    """A parsed text field with its data's real characters back (in plain text, a line
    break inside a value becomes a space)."""
    if plain:
        text = text.replace(_NEWLINE_STAND_IN, " ")
    return text.translate(_FROM_STAND_IN)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": restore(text), "verbatim": True}


def _plain_text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(restore(unescape(text), plain=True), limit)}


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
    return [{"type": "section", "text": _mrkdwn(c)} for c in chunks if c]


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

    for raw in markup.split("\n"):  # not splitlines(): only a template's "\n" ends a line
        line = raw.rstrip()
        if match := BUTTON.match(line.strip()):
            if paragraph:
                blocks.extend(_section("\n".join(paragraph)))
                paragraph.clear()
            action_id, value, style, label = match.groups()
            button: dict[str, Any] = {
                "type": "button",
                "action_id": restore(action_id, plain=True),
                "text": {**_plain_text(label, 75), "emoji": True},
            }
            if action_id == "url":
                button["action_id"] = f"{LINK_PREFIX}{len(buttons)}"
                button["url"] = restore(unescape(value), plain=True)[:3000]
            elif value:
                button["value"] = restore(value, plain=True)[:2000]
            if style:
                button["style"] = style
            buttons.append(button)
        elif line.startswith("# ") or line == "#":
            flush()
            # A header whose data is empty still reads as one (Slack needs a character).
            title = line[2:].strip() or "—"
            blocks.append({"type": "header", "text": _plain_text(title, HEADER_MAX)})
        elif line.strip() == "---":
            flush()
            blocks.append({"type": "divider"})
        elif line.startswith("> "):
            flush()
            text = _cut(line[2:].strip(), CONTEXT_MAX)
            blocks.append({"type": "context", "elements": [_mrkdwn(text)]})
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
        {"type": "context", "elements": [_mrkdwn(note)]},
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
    view: dict[str, Any] = {"type": "home", "blocks": blocks}
    View(type="home", blocks=blocks).validate_json()
    return view


def to_plain(blocks: list[dict[str, Any]]) -> str:
    """Blocks as terminal text: for `prm slack ask` and job dry runs."""
    lines = []
    for block in blocks:
        kind = block["type"]
        if kind == "header":  # plain text already: nothing to unescape
            lines.append(f"== {block['text']['text']} ==")
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "context":
            lines.append("  " + " ".join(unescape(e.get("text", "")) for e in block["elements"]))
        elif kind == "actions":
            lines.append("  " + "  ".join(f"[{e['text']['text']}]" for e in block["elements"]))
        else:
            lines.append(unescape(block.get("text", {}).get("text", "")))
    return "\n".join(lines)
