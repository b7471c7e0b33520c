"""A CS owner's answer to a coaching alert: acknowledge it, or snooze it for some days.

Who may press the buttons (the episode's CS owner, or an admin) is decided here; the
episode rows are bot.store.alerts'.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from bot.domain.outcome import Outcome
from bot.store import alerts as store

__all__ = ["Outcome", "ack_alert", "episode_id_of", "may_answer", "snooze_alert"]


def episode_id_of(value: str) -> int | None:
    """An episode id from a button's value: up to 18 ASCII digits, else None."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def may_answer(presser: str, cs_slack_id: str | None, admins: frozenset[str]) -> bool:
    """Only the episode's CS owner, or an admin, acknowledges or snoozes it."""
    return presser == cs_slack_id or presser in admins


def _episode(
    conn: Connection, episode_id: str, presser: str, admins: frozenset[str]
) -> tuple[dict[str, Any] | None, Outcome]:
    found = episode_id_of(episode_id)
    row = store.episode(conn, found) if found is not None else None
    if row is None:
        return None, Outcome.GONE
    if not may_answer(presser, row["cs_slack_id"], admins):
        return row, Outcome.NOT_YOURS
    return row, Outcome.DONE


def ack_alert(
    conn: Connection, episode_id: str, presser: str, admins: frozenset[str], now: datetime
) -> Outcome:
    row, outcome = _episode(conn, episode_id, presser, admins)
    if outcome is Outcome.DONE and row is not None:
        store.acknowledge(conn, row["id"], presser, now)
    return outcome


def snooze_alert(
    conn: Connection,
    episode_id: str,
    presser: str,
    admins: frozenset[str],
    now: datetime,
    days: int,
) -> Outcome:
    row, outcome = _episode(conn, episode_id, presser, admins)
    if outcome is Outcome.DONE and row is not None:
        store.snooze(conn, row["id"], now + timedelta(days=days))
    return outcome
