"""Instants, reporting-zone dates and calendar-month arithmetic, as the KPI spec fixes them.

- Stored instants are UTC; a plain date means 00:00 in the reporting zone.
- "t − N months" keeps the local wall-clock time and clamps the day to the shorter month.
- Every time read from people or files lies in the years 1900 to 2999 (`EARLIEST`, `LATEST`).
  Python's datetimes end at the years 1 and 9999, so `9999-12-31T23:00:00-14:00` parses but
  cannot be moved to UTC, and a date near either end cannot be read as midnight in every
  zone, nor have months subtracted from it. Such values raise `TimeParseError` ("out of
  range") here, once, instead of an `OverflowError` wherever they are used later.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PLAIN_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The years a time or date may be written in (the latest exclusive), whatever its offset.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
RANGE_HINT = "use a time in the years 1900 to 2999"


class TimeParseError(ValueError):
    """A timestamp that cannot be read; the message says why, for people."""


def _out_of_range(text: str) -> TimeParseError:
    return TimeParseError(f"out of range: {text!r} ({RANGE_HINT})")


def _utc(value: datetime, text: str) -> datetime:
    """`value` (aware) in UTC, or `TimeParseError` when it is written outside the years 1900-2999.

    The year is checked as written (a Tokyo midnight on 1900-01-01 is still 1899 in UTC), so
    the conversion cannot overflow; `astimezone` near the years 1 and 9999 would
    (OverflowError, or ValueError from some zones), and that is out of range too.
    """
    if not EARLIEST.year <= value.year < LATEST.year:
        raise _out_of_range(text)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):  # unreachable after the year check; kept as a guard
        raise _out_of_range(text) from None


def parse_date(text: str) -> date:
    """A plain `YYYY-MM-DD` date in the years 1900 to 2999, else `TimeParseError` saying why."""
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise TimeParseError(f"unparseable date: {text!r}") from None
    if not EARLIEST.year <= day.year < LATEST.year:
        raise TimeParseError(f"out of range: {text!r} (use a date in the years 1900 to 2999)")
    return day


def parse_instant(text: str, tz: ZoneInfo, *, allow_date: bool) -> datetime:
    """Parse ISO-8601 with an offset (or, when allowed, a plain date) into an aware UTC instant.

    Raises `TimeParseError` for a time without offset, an unparseable time or date, and one
    outside the years 1900 to 2999 (including times that overflow on the way to UTC).
    """
    text = text.strip()
    if PLAIN_DATE.match(text):
        if not allow_date:
            raise TimeParseError(f"time without offset: {text!r}")
        return _utc(local_midnight(parse_date(text), tz), text)
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise TimeParseError(f"unparseable time: {text!r}") from exc
    if value.tzinfo is None or value.utcoffset() is None:
        raise TimeParseError(f"time without offset: {text!r}")
    return _utc(value, text)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def parse_user_instant(text: str, tz: ZoneInfo) -> datetime:
    """What people type on the command line: a date, or a date-time with or without offset.

    A date-time without an offset is read as reporting-zone wall-clock time. Out of the years
    1900 to 2999: `TimeParseError("out of range: …")`.
    """
    text = text.strip()
    hint = f"bad date {text!r}: use YYYY-MM-DD or an ISO-8601 time such as 2026-11-01T09:00+09:00"
    if PLAIN_DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise TimeParseError(hint) from exc
        return _utc(local_midnight(day, tz), text)
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise TimeParseError(hint) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return _utc(value, text)


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


def wall_clock() -> datetime:
    """Real time: when a run started and ended, and when a retry is due — unlike `now`,
    the instant a run acts as of."""
    return datetime.now(UTC)


QUIET_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class QuietHours:
    """A daily span of local time in which nobody is messaged; may span midnight.

    In core because settings validate it and every job that sends applies it."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        m = QUIET_HOURS.match(text)
        if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
            raise ValueError(f"quiet hours {text!r}: use HH:MM-HH:MM, such as 20:00-08:00")
        return cls(time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4])))

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # spans midnight
