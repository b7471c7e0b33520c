"""The four importable kinds: their columns, which of them a file must carry, and limits.

Column widths come from the tables themselves so that a value too long for PostgreSQL is
refused as a row (with a reason) instead of aborting a batch, and SQLite, which would
silently accept it, behaves the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, Table

from bot.store import handles


@dataclass(frozen=True)
class KindSpec:
    """One importable kind.

    `columns` is the exchange format (kpi-spec.md, "Exchange formats"); `required_columns`
    must appear in a CSV header or the file is refused whole, because every row would fail.
    `free_text` are the columns that may hold a tab or a line break (names, titles); in any
    other column a line break is refused, and in a CSV record spanning lines it means a
    quote was left open.
    """

    name: str
    columns: tuple[str, ...]
    required_columns: tuple[str, ...]
    list_columns: frozenset[str] = frozenset()
    free_text: frozenset[str] = frozenset()


PARTNERS = KindSpec(
    "partners",
    # slack_channel_id extends the spec's format (docs/import.md): the partner's shared channel.
    ("key", "name", "signed_at", "tier", "manager_slack_id", "cs_slack_id", "slack_channel_id"),
    ("key", "name"),
    free_text=frozenset({"name"}),
)
USERS = KindSpec(
    "users",
    ("key", "partner_key", "name", "email", "slack_user_id", "registered_at", "locale"),
    ("key", "partner_key"),
    free_text=frozenset({"name"}),
)
ASSETS = KindSpec(
    "assets",
    ("key", "title", "url", "tags"),
    ("key",),
    list_columns=frozenset({"tags"}),
    free_text=frozenset({"title"}),
)
EVENTS = KindSpec(
    "events",
    ("event_id", "occurred_at", "type", "partner_key", "user_key", "object_key", "amount"),
    # object_key is required for every type but user.login, so a file without it is useless.
    ("event_id", "occurred_at", "type", "partner_key", "user_key", "object_key"),
    # A quoted multi-line object key was always accepted (tests/store/test_import.py).
    free_text=frozenset({"object_key"}),
)

KINDS: dict[str, KindSpec] = {spec.name: spec for spec in (PARTNERS, USERS, ASSETS, EVENTS)}


def _widths(table: Table) -> dict[str, int]:
    return {
        col.name: col.type.length
        for col in table.columns
        if isinstance(col.type, String) and col.type.length
    }


PARTNER_WIDTHS = _widths(handles.partners)
USER_WIDTHS = _widths(handles.reps)
ASSET_WIDTHS = _widths(handles.assets)
TAG_WIDTH = _widths(handles.asset_tags)["tag"]
EVENT_WIDTHS = _widths(handles.events)

# Numeric(20, 4): at most 16 digits before the point, 4 after it.
AMOUNT_SCALE = 4
AMOUNT_LIMIT_DIGITS = 20 - AMOUNT_SCALE
AMOUNT_LIMIT = 10**AMOUNT_LIMIT_DIGITS
