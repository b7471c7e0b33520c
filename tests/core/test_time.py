"""The time rules of kpi-spec.md ("Time"): offsets, plain dates, calendar months."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.timeutil import (
    TimeParseError,
    days_before,
    months_before,
    parse_date,
    parse_instant,
    parse_user_instant,
    to_local_iso,
)
from bot.kpi.params import KpiParams, parse_active_types, parse_journey, span_before

TOKYO = ZoneInfo("Asia/Tokyo")
NY = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_offsets_are_normalised_to_utc() -> None:
    assert parse_instant("2026-04-01T08:30:00+09:00", TOKYO, allow_date=False) == utc(
        2026, 3, 31, 23, 30
    )
    assert parse_instant("2026-04-01T08:30:00Z", TOKYO, allow_date=False) == utc(2026, 4, 1, 8, 30)


def test_plain_date_is_local_midnight() -> None:
    assert parse_instant("2026-04-01", TOKYO, allow_date=True) == utc(2026, 3, 31, 15)
    assert parse_instant("2026-04-01", ZoneInfo("UTC"), allow_date=True) == utc(2026, 4, 1)


@pytest.mark.parametrize(
    ("text", "allow_date", "reason"),
    [
        ("2026-04-01T09:30:00", False, "time without offset"),
        ("2026-04-01", False, "time without offset"),
        ("yesterday", False, "unparseable time"),
        ("2026-02-30", True, "unparseable date"),
    ],
)
def test_bad_times_say_why(text: str, allow_date: bool, reason: str) -> None:
    with pytest.raises(TimeParseError, match=reason):
        parse_instant(text, TOKYO, allow_date=allow_date)


def test_user_instants_without_offset_are_local() -> None:
    assert parse_user_instant("2026-11-01T09:00", TOKYO) == utc(2026, 11, 1, 0)
    assert parse_user_instant("2026-11-01", TOKYO) == utc(2026, 10, 31, 15)
    for bad in ("11/01/2026", "2026-02-30"):
        with pytest.raises(TimeParseError, match=r"bad date .*use YYYY-MM-DD"):
            parse_user_instant(bad, TOKYO)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-03-31T10:00:00+09:00", 1, "2026-02-28T10:00:00+09:00"),
        ("2024-03-31T10:00:00+09:00", 1, "2024-02-29T10:00:00+09:00"),
        ("2026-05-31T00:00:00+09:00", 3, "2026-02-28T00:00:00+09:00"),
        ("2026-01-15T00:00:00+09:00", 12, "2025-01-15T00:00:00+09:00"),
        ("2026-12-31T23:00:00+09:00", 6, "2026-06-30T23:00:00+09:00"),
    ],
)
def test_months_before_clamps_the_day(start: str, months: int, expected: str) -> None:
    got = months_before(datetime.fromisoformat(start), months, TOKYO)
    assert to_local_iso(got, TOKYO) == expected


def test_months_and_days_keep_wall_clock_across_dst() -> None:
    # New York leaves DST on 2026-11-01: a month before 2026-11-15 09:00 EST is 09:00 EDT.
    start = datetime(2026, 11, 15, 9, tzinfo=NY)
    assert months_before(start, 1, NY).astimezone(NY).hour == 9
    assert days_before(start, 30, NY).astimezone(NY) == datetime(2026, 10, 16, 9, tzinfo=NY)


def test_default_period_is_thirty_days_before_as_of() -> None:
    as_of = utc(2026, 10, 31, 15)  # 2026-11-01 00:00 in Tokyo
    params = KpiParams.build(as_of=as_of, tz=TOKYO)
    assert params.period_to == as_of
    assert to_local_iso(params.period_from, TOKYO) == "2026-10-02T00:00:00+09:00"


def test_last_span_and_conflicts() -> None:
    to = utc(2026, 3, 31)
    assert span_before(to, "1m", ZoneInfo("UTC")) == utc(2026, 2, 28)
    assert span_before(to, "12w", ZoneInfo("UTC")) == utc(2026, 1, 6)
    assert span_before(to, "30d", ZoneInfo("UTC")) == utc(2026, 3, 1)
    for bad in ("0d", "3y", "m", ""):
        with pytest.raises(ValueError, match="bad span"):
            span_before(to, bad, ZoneInfo("UTC"))
    with pytest.raises(ValueError, match="either --from or --last"):
        KpiParams.build(as_of=to, period_from=utc(2026, 1, 1), last="30d")
    with pytest.raises(ValueError, match="from < to"):
        KpiParams.build(as_of=to, period_from=utc(2026, 4, 1))


def test_journey_and_active_types_configuration() -> None:
    steps = parse_journey("signed,registered,trained=training.completed,deal_won")
    assert [(s.key, s.source) for s in steps] == [
        ("signed", "signed"),
        ("registered", "registered"),
        ("trained", "training.completed"),
        ("deal_won", "deal.won"),
    ]
    with pytest.raises(ValueError, match="start with"):
        parse_journey("registered,signed")
    with pytest.raises(ValueError, match="unknown source"):
        parse_journey("signed,x=deal.lost")
    assert parse_active_types("user.login, deal.won") == ("user.login", "deal.won")
    with pytest.raises(ValueError, match="unknown active"):
        parse_active_types("user.logout")


def test_the_default_as_of_rounds_up_so_a_moment_ago_is_counted():
    from datetime import UTC, datetime

    from bot.kpi.params import next_whole_second

    moment = datetime(2026, 11, 1, 9, 0, 0, 250_000, tzinfo=UTC)
    assert next_whole_second(moment) == datetime(2026, 11, 1, 9, 0, 1, tzinfo=UTC)
    whole = datetime(2026, 11, 1, 9, 0, 0, tzinfo=UTC)
    assert next_whole_second(whole) == whole


# -- times that parse but overflow: "out of range", never an OverflowError ------------------

OUT_OF_RANGE = [
    "9999-12-31T23:00:00-14:00",  # parses; past the year 9999 in UTC
    "0001-01-01T00:00:00+01:00",  # parses; before the year 1 in UTC
    "0001-01-01T00:00:00Z",
    "1899-12-31T23:59:59Z",
    "3000-01-01T00:00:00+09:00",
]


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_times_out_of_range_say_so(text: str) -> None:
    reason = f"out of range: {text!r} (use a time in the years 1900 to 2999)"
    with pytest.raises(TimeParseError) as caught:
        parse_instant(text, TOKYO, allow_date=False)
    assert str(caught.value) == reason
    with pytest.raises(TimeParseError) as caught:
        parse_user_instant(text, NY)
    assert str(caught.value) == reason


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"])
def test_plain_dates_out_of_range_say_so(text: str) -> None:
    """Midnight of 0001-01-01 in Tokyo, or of 9999-12-31 in New York, is not an instant."""
    for tz in (TOKYO, NY):
        with pytest.raises(TimeParseError, match=r"^out of range: "):
            parse_instant(text, tz, allow_date=True)
        with pytest.raises(TimeParseError, match=r"^out of range: "):
            parse_user_instant(text, tz)
    with pytest.raises(TimeParseError, match=r"use a date in the years 1900 to 2999"):
        parse_date(text)


def test_the_range_is_the_years_as_written() -> None:
    assert parse_instant("1900-01-01", TOKYO, allow_date=True) == utc(1899, 12, 31, 15)
    assert parse_instant("2999-12-31T23:00:00-12:00", TOKYO, allow_date=False) == utc(
        3000, 1, 1, 11
    )
    assert parse_user_instant("2999-12-31T23:59", NY) == utc(3000, 1, 1, 4, 59)
    assert parse_date("2999-12-31") == date(2999, 12, 31)
    with pytest.raises(TimeParseError, match=r"^unparseable date: '2026-02-30'$"):
        parse_date("2026-02-30")


@pytest.mark.parametrize(
    "args",
    [
        ("kpi", "--as-of", "9999-12-31T23:00:00-14:00"),
        ("kpi", "--as-of", "0001-01-01T00:00:00+01:00"),
        ("kpi", "--as-of", "0001-01-03"),  # was: OverflowError in the period arithmetic
        ("kpi", "--from", "0001-01-01", "--to", "2026-01-01"),
        ("kpi", "--to", "9999-12-31"),
        ("kpi", "--signed-from", "0001-01-01"),
        ("kpi", "--signed-to", "9999-12-31T23:00:00-14:00"),
        ("jobs", "run", "next-actions", "--dry-run", "--as-of", "9999-12-31T23:00:00-14:00"),
        ("demo", "generate", "--out", "files", "--end", "0001-01-01T00:00:00+01:00"),
    ],
    ids=lambda args: " ".join(args),
)
def test_cli_instants_out_of_range_are_one_line(cli, args: tuple[str, ...]) -> None:
    result = cli(*args, env={"PRM_TIMEZONE": "Asia/Tokyo"})
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    flag = next(a for a in args if a.startswith("--") and a != "--dry-run" and a != "--out")
    assert line.startswith(f"error: {flag}: out of range: "), line
