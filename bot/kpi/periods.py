"""The PERIOD word people type in Slack: `30d`, `12w`, `3m`, `2026-10`, `2026-Q3`.

A span (`30d`) counts back from now, like `prm kpi --last 30d`. A calendar month or
quarter is that half-open range in the reporting zone; the report is then as of the end
of the range, or now if the range has not ended yet, so a past month reads the same on
any later day (`prm kpi --from 2026-10-01 --to 2026-11-01 --as-of 2026-11-01`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.core.timeutil import days_before, local_midnight, months_before

# The one span syntax (Slack's PERIOD word, `prm kpi --last`, the API's `last`).
SPAN = re.compile(r"^\s*(\d+)\s*([dwm])\s*$", re.IGNORECASE)
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
# Shapes that can only be meant as a period (so "2026-Q5" or "1y" get the period message
# rather than "no partner called 2026-Q5"): a number with letters, YYYY-…/YYYY/…, Qn.
PERIODISH = re.compile(r"^(\d+[a-z]+|\d{4}[-/]\S+|q\d)$", re.IGNORECASE)
MAX_DAYS = 3660  # ten years back is the longest period anyone means


class PeriodError(ValueError):
    """A word that looks like a period but is not a valid one."""


@dataclass(frozen=True)
class Period:
    """What to hand to `params_from_settings`: either a span or a calendar range."""

    text: str
    last: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def question(self, now: datetime) -> dict[str, datetime | str | None]:
        if self.last is not None:
            return {"as_of": now, "last": self.last.lower()}
        assert self.start is not None and self.end is not None
        return {"as_of": min(now, self.end), "period_from": self.start, "period_to": self.end}


def parse_span(text: str) -> tuple[int, str] | None:
    """`30d` → (30, "d"), `12W` → (12, "w"), `3m` → (3, "m"); None when it is no span.
    Zero is a span here: each caller says why it will not count back nothing."""
    match = SPAN.match(text)
    return (int(match.group(1)), match.group(2).lower()) if match else None


def span_before(instant: datetime, span: str, tz: ZoneInfo) -> datetime:
    """`instant − span` for "30d", "12w" or "3m" (calendar months, clamped)."""
    parsed = parse_span(span)
    if parsed is None or parsed[0] == 0:
        raise ValueError(f"bad span {span!r}: use a number and d, w or m, such as 30d, 12w, 3m")
    n, unit = parsed
    try:
        if unit == "m":
            return months_before(instant, n, tz)
        return days_before(instant, n * (7 if unit == "w" else 1), tz)
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"span {span!r} reaches before the year 1: use a shorter one") from exc


def looks_like_period(word: str) -> bool:
    word = word.strip()
    return bool(PERIODISH.match(word))


def parse_period(word: str, tz: ZoneInfo) -> Period:
    """Raise PeriodError with a message for people when the word is not a valid period."""
    text = word.strip()
    if span := parse_span(text):
        n, unit = span
        if n == 0:
            raise PeriodError(f"period {text!r} is empty: use a number above 0, such as 30d")
        if n * {"d": 1, "w": 7, "m": 31}[unit] > MAX_DAYS:
            raise PeriodError(f"period {text!r} is too long: ten years at most")
        return Period(text=text, last=text)
    if m := MONTH.match(text):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(f"no month {month:02d} in {text!r}: use YYYY-MM, such as 2026-10")
        return _calendar(text, year, month, 1, tz)
    if m := QUARTER.match(text):
        return _calendar(text, int(m.group(1)), (int(m.group(2)) - 1) * 3 + 1, 3, tz)
    raise PeriodError(
        f"{text!r} is not a period: use 30d, 12w, 3m, a month (2026-10) or a quarter (2026-Q3)"
    )


def _calendar(text: str, year: int, month: int, months: int, tz: ZoneInfo) -> Period:
    if year < 2000 or year > 2100:
        raise PeriodError(f"year {year} in {text!r} is out of range")
    end_total = year * 12 + (month - 1) + months
    end = date(end_total // 12, end_total % 12 + 1, 1)
    return Period(
        text=text,
        start=local_midnight(date(year, month, 1), tz),
        end=local_midnight(end, tz),
    )
