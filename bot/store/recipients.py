"""The `slack_recipient` table's one owner: what Slack told us about a user (DM channel,
time zone, locale), kept so that a job fanning out to thousands asks Slack once.

The rows are a cache, so every write is an upsert of only the columns learnt: a DM
channel written by one run never erases the profile another wrote.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from bot.store.engine import table_of, upsert
from bot.store.tables import SlackRecipient

S = table_of(SlackRecipient)
PROFILE_COLUMNS = ("tz", "locale", "profile_at")
_CHUNK = 1000  # ids per IN (...): well under every driver's parameter limit


def known(engine: Engine, slack_user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Every stored row about these users, keyed by Slack id; chunked queries, one
    connection."""
    found: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for i in range(0, len(slack_user_ids), _CHUNK):
            chunk = slack_user_ids[i : i + _CHUNK]
            for row in conn.execute(select(S).where(S.c.slack_user_id.in_(chunk))):
                found[row.slack_user_id] = dict(row._mapping)
    return found


def save(engine: Engine, slack_user_id: str, **values: Any) -> None:
    """Insert or update one user's row with just `values` (its own transaction)."""
    row = {"slack_user_id": slack_user_id, **values}
    with engine.begin() as conn:
        conn.execute(upsert(conn, S, row, ["slack_user_id"], list(values)))


def save_many(
    engine: Engine, profiles: dict[str, dict[str, Any]], channels: dict[str, str]
) -> None:
    """Many users' profiles (`tz`, `locale`, `profile_at`) and DM channels: at most two
    multi-row upserts, one transaction."""
    if not profiles and not channels:
        return
    with engine.begin() as conn:
        if profiles:
            rows = [
                {"slack_user_id": u, **{c: v.get(c) for c in PROFILE_COLUMNS}}
                for u, v in profiles.items()
            ]
            conn.execute(upsert(conn, S, rows, ["slack_user_id"], list(PROFILE_COLUMNS)))
        if channels:
            rows = [{"slack_user_id": u, "dm_channel_id": c} for u, c in channels.items()]
            conn.execute(upsert(conn, S, rows, ["slack_user_id"], ["dm_channel_id"]))
