"""Instants, reporting-zone dates and calendar-month arithmetic, as the KPI spec fixes them.

- Stored instants are UTC; a plain date means 00:00 in the reporting zone.
- "t − N months" keeps the local wall-clock time and clamps the day to the shorter month.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

PLAIN_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class TimeParseError(ValueError):
    """A timestamp that cannot be read; the message says why, for people."""


def parse_instant(text: str, tz: ZoneInfo, *, allow_date: bool) -> datetime:
    """Parse ISO-8601 with an offset (or, when allowed, a plain date) into an aware UTC instant."""
    text = text.strip()
    if PLAIN_DATE.match(text):
        if not allow_date:
            raise TimeParseError(f"time without offset: {text!r}")
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise TimeParseError(f"unparseable date: {text!r}") from exc
        return local_midnight(day, tz).astimezone(UTC)
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise TimeParseError(f"unparseable time: {text!r}") from exc
    if value.tzinfo is None or value.utcoffset() is None:
        raise TimeParseError(f"time without offset: {text!r}")
    return value.astimezone(UTC)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def parse_user_instant(text: str, tz: ZoneInfo) -> datetime:
    """What people type on the command line: a date, or a date-time with or without offset.

    A date-time without an offset is read as reporting-zone wall-clock time.
    """
    text = text.strip()
    hint = f"bad date {text!r}: use YYYY-MM-DD or an ISO-8601 time such as 2026-11-01T09:00+09:00"
    if PLAIN_DATE.match(text):
        try:
            return parse_instant(text, tz, allow_date=True)
        except TimeParseError as exc:
            raise TimeParseError(hint) from exc
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise TimeParseError(hint) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def months_before(instant: datetime, months: int, tz: ZoneInfo) -> datetime:
    """`instant − months` in calendar months of the reporting zone, day clamped; aware UTC."""
    local = instant.astimezone(tz)
    total = local.year * 12 + (local.month - 1) - months
    year, month0 = divmod(total, 12)
    month = month0 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    shifted = local.replace(year=year, month=month, day=day, tzinfo=tz, fold=0)
    return shifted.astimezone(UTC)


def days_before(instant: datetime, days: int, tz: ZoneInfo) -> datetime:
    """`instant − days` as local wall-clock days (so a DST change does not shift the hour)."""
    local = instant.astimezone(tz)
    shifted = (local.replace(tzinfo=None) - timedelta(days=days)).replace(tzinfo=tz)
    return shifted.astimezone(UTC)


def to_local_iso(instant: datetime, tz: ZoneInfo) -> str:
    """ISO-8601 in the reporting zone, seconds precision unless the instant has more."""
    local = instant.astimezone(tz)
    spec = "microseconds" if local.microsecond else "seconds"
    return local.isoformat(timespec=spec)
