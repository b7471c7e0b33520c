"""When a nudge may go out: local send hour, quiet hours, the weekly cap, stop-after-N,
and the holdout. Pure functions of times and history, so each rule is tested alone."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.timeutil import QuietHours

__all__ = ["QuietHours", "capped", "in_holdout", "local_day", "paused", "send_window_open", "zone"]


def zone(name: str | None, fallback: ZoneInfo) -> ZoneInfo:
    if not name:
        return fallback
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a folder
        return fallback


def send_window_open(now: datetime, tz: ZoneInfo, send_hour: int, quiet: QuietHours) -> bool:
    """Daily at `send_hour` local time or later that day, never in quiet hours: a run at
    21:00 local waits for tomorrow's send hour instead."""
    local = now.astimezone(tz)
    return local.hour >= send_hour and not quiet.contains(local.time())


def local_day(now: datetime, tz: ZoneInfo) -> str:
    return now.astimezone(tz).date().isoformat()


def capped(last_nudge: datetime | None, now: datetime, cap_days: int) -> bool:
    """Within `cap_days` × 24 hours of the last nudge. In UTC: Python subtracts two times
    of the same zone by wall clock, which would be an hour off across a DST change."""
    if last_nudge is None:
        return False
    return now.astimezone(UTC) - last_nudge.astimezone(UTC) < timedelta(days=cap_days)


def in_holdout(rep_key: str, salt: str, share: float) -> bool:
    """Stable and deterministic: the same rep, salt and share always give the same answer."""
    digest = hashlib.sha256(f"{salt}:{rep_key}".encode()).digest()
    # Compared exactly (int against float), not as a rounded fraction: a draw of nearly
    # 2**64 would round to 1.0 and leave that rep out even with share 1.
    return int.from_bytes(digest[:8], "big") < share * 2**64


def paused(history: list[tuple[datetime, bool]], stop_after: int) -> bool:
    """Stop after `stop_after` nudges in a row that led to no progress.

    `history`: the rep's sent nudges, newest first, each with whether the rep progressed
    on its target afterwards. Any progress breaks the streak.
    """
    if stop_after <= 0 or len(history) < stop_after:
        return False
    return not any(progressed for _, progressed in history[:stop_after])
