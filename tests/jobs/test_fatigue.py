"""Fatigue control, each rule alone: quiet hours, the local send window in two zones (across
New York's DST change on 2026-11-01), the local day, the 7-day cap, the holdout and
stop-after-N. Pure functions of times and history; no database, no clock.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.nudges import fatigue
from bot.domain.nudges.fatigue import (
    QuietHours,
    capped,
    in_holdout,
    local_day,
    paused,
    send_window_open,
    zone,
)

TOKYO = ZoneInfo("Asia/Tokyo")  # UTC+9, no DST
NEW_YORK = ZoneInfo("America/New_York")  # EDT (UTC−4) until 2026-11-01 06:00 UTC, then EST
NIGHT = QuietHours.parse("20:00-08:00")  # the default
SEND_HOUR = 10  # the default


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- quiet hours ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("20:00-08:00", time(20), time(8)),
        ("9:30-17:45", time(9, 30), time(17, 45)),
        ("  22:15 - 06:05 ", time(22, 15), time(6, 5)),
        ("00:00-23:59", time(0), time(23, 59)),
        ("08:00-08:00", time(8), time(8)),
    ],
)
def test_quiet_hours_parse(text, start, end):
    assert QuietHours.parse(text) == QuietHours(start, end)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "20-08",
        "20:00",
        "20:00-",
        "2000-0800",
        "24:00-08:00",
        "20:00-24:00",
        "20:60-08:00",
        "20:00-08:75",
        "20:0-08:00",
        "120:00-08:00",
        "20:00-08:00-09:00",
        "20:00 to 08:00",
        "20:00–08:00",  # an en dash
        "night",
    ],
)
def test_quiet_hours_parse_refuses(text):
    with pytest.raises(ValueError, match=r"use HH:MM-HH:MM, such as 20:00-08:00"):
        QuietHours.parse(text)


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (time(19, 59, 59), False),
        (time(20, 0), True),
        (time(23, 59, 59), True),
        (time(0, 0), True),
        (time(7, 59, 59), True),
        (time(8, 0), False),
        (time(12, 0), False),
    ],
)
def test_quiet_hours_across_midnight(local, quiet):
    assert NIGHT.contains(local) is quiet


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (time(11, 59, 59), False),
        (time(12, 0), True),
        (time(13, 29, 59), True),
        (time(13, 30), False),
        (time(0, 0), False),
        (time(23, 0), False),
    ],
)
def test_quiet_hours_within_one_day(local, quiet):
    assert QuietHours.parse("12:00-13:30").contains(local) is quiet


def test_start_equal_to_end_is_never_quiet():
    for text in ("08:00-08:00", "00:00-00:00"):
        hours = QuietHours.parse(text)
        for minute in range(0, 24 * 60, 7):
            assert not hours.contains(time(minute // 60, minute % 60))
        assert not hours.contains(time(8)) and not hours.contains(time(0))


# --- the send window, in two zones ------------------------------------------------------

# Each instant read in Tokyo and New York; expectations worked out from the offsets.
WINDOW = [
    # Saturday 2026-10-31, New York still on EDT (UTC−4).
    ("2026-10-31 14:30", TOKYO, False, "23:30 Tokyo: quiet"),
    ("2026-10-31 14:30", NEW_YORK, True, "10:30 EDT: open"),
    ("2026-10-31 13:59", NEW_YORK, False, "09:59 EDT: before the send hour"),
    ("2026-10-31 14:00", NEW_YORK, True, "10:00 EDT: the send hour itself"),
    ("2026-10-31 23:59", NEW_YORK, True, "19:59 EDT: the last minute before quiet hours"),
    ("2026-11-01 00:00", NEW_YORK, False, "20:00 EDT: quiet"),
    ("2026-11-01 00:30", TOKYO, False, "09:30 Tokyo: not quiet, but before the send hour"),
    ("2026-11-01 01:00", TOKYO, True, "10:00 Tokyo: open"),
    # New York falls back at 06:00 UTC: 01:30 happens twice, both inside quiet hours.
    ("2026-11-01 05:30", NEW_YORK, False, "01:30 EDT: quiet"),
    ("2026-11-01 06:30", NEW_YORK, False, "01:30 EST: quiet"),
    # Sunday 2026-11-01, New York on EST (UTC−5): 14:30 UTC is now 09:30, not 10:30.
    ("2026-11-01 14:30", NEW_YORK, False, "09:30 EST: before the send hour"),
    ("2026-11-01 14:30", TOKYO, False, "23:30 Tokyo: quiet"),
    ("2026-11-01 15:00", NEW_YORK, True, "10:00 EST: open"),
    ("2026-11-01 15:00", TOKYO, False, "00:00 Tokyo (Nov 2): quiet"),
    ("2026-11-02 00:59", NEW_YORK, True, "19:59 EST: open"),
    ("2026-11-02 00:59", TOKYO, False, "09:59 Tokyo: before the send hour"),
    ("2026-11-02 01:00", NEW_YORK, False, "20:00 EST: quiet"),
    ("2026-11-02 01:00", TOKYO, True, "10:00 Tokyo: open"),
    ("2026-11-02 10:59", TOKYO, True, "19:59 Tokyo: open"),
    ("2026-11-02 11:00", TOKYO, False, "20:00 Tokyo: quiet"),
]


@pytest.mark.parametrize(("instant", "tz", "open_", "why"), WINDOW, ids=[w[3] for w in WINDOW])
def test_send_window_in_the_recipients_zone(instant, tz, open_, why):
    assert send_window_open(utc(instant), tz, SEND_HOUR, NIGHT) is open_


def test_send_window_same_instant_two_answers():
    now = utc("2026-11-02 01:00")  # 10:00 in Tokyo, 20:00 (EST) the evening before in NY
    assert send_window_open(now, TOKYO, SEND_HOUR, NIGHT)
    assert not send_window_open(now, NEW_YORK, SEND_HOUR, NIGHT)
    # The instant's own zone does not matter, only the recipient's.
    assert send_window_open(now.astimezone(NEW_YORK), TOKYO, SEND_HOUR, NIGHT)


def test_send_window_by_hour_over_a_whole_day_in_new_york():
    # On the day of the change, hour by hour from 00:00 UTC on Nov 1: open exactly from
    # 10:00 EST (15:00 UTC) to 19:59 EST (00:59 UTC the next day).
    start = utc("2026-11-01 00:00")
    open_hours = [
        h for h in range(30) if send_window_open(start + timedelta(hours=h), NEW_YORK, 10, NIGHT)
    ]
    assert open_hours == list(range(15, 25))


def test_a_send_hour_inside_quiet_hours_never_opens():
    day = utc("2026-11-02 00:00")
    assert not any(
        send_window_open(day + timedelta(minutes=m), TOKYO, 21, NIGHT) for m in range(0, 1440, 5)
    )


def test_no_quiet_hours_leaves_only_the_send_hour():
    always = QuietHours.parse("00:00-00:00")
    assert send_window_open(utc("2026-11-02 14:59"), TOKYO, 10, always)  # 23:59 Tokyo
    assert not send_window_open(utc("2026-11-01 14:59"), TOKYO, 0, NIGHT)  # 23:59, quiet
    assert send_window_open(utc("2026-11-01 15:00"), TOKYO, 0, always)  # 00:00 Tokyo


# --- zones and local days ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "tz", "day"),
    [
        ("2026-11-01 15:30", TOKYO, "2026-11-02"),
        ("2026-11-01 15:30", NEW_YORK, "2026-11-01"),
        ("2026-11-01 14:59", TOKYO, "2026-11-01"),
        ("2026-11-01 15:00", TOKYO, "2026-11-02"),
        ("2026-11-01 03:59", NEW_YORK, "2026-10-31"),  # 23:59 EDT
        ("2026-11-01 04:00", NEW_YORK, "2026-11-01"),  # 00:00 EDT
        ("2026-11-02 04:59", NEW_YORK, "2026-11-01"),  # 23:59 EST: a day of 25 hours
        ("2026-11-02 05:00", NEW_YORK, "2026-11-02"),  # 00:00 EST
    ],
)
def test_local_day(instant, tz, day):
    assert local_day(utc(instant), tz) == day


def test_zone_falls_back_on_anything_unusable():
    fallback = ZoneInfo("Europe/Paris")
    assert zone("Asia/Tokyo", fallback) == TOKYO
    for name in (None, "", "Nope/Zone", "utc ", "../etc", "/etc/passwd", "America", "a\0b"):
        assert zone(name, fallback) is fallback, name


# --- the 7-day cap ----------------------------------------------------------------------


def test_capped_at_exactly_seven_days():
    last = utc("2026-10-26 01:00")
    assert not capped(None, last, 7)  # never nudged
    assert capped(last, last, 7)
    assert capped(last, last + timedelta(days=7, microseconds=-1), 7)
    assert not capped(last, last + timedelta(days=7), 7)  # exactly 7 days later: may go
    assert not capped(last, last + timedelta(days=30), 7)
    assert capped(last, last + timedelta(days=13), 14)  # configurable


def test_capped_counts_elapsed_time_not_wall_clock_days():
    # Nudged at 10:00 EDT on Oct 29; seven days later is 09:00 EST on Nov 5: the cap ends
    # at the instant, whatever New York's clocks say.
    last = datetime(2026, 10, 29, 10, 0, tzinfo=NEW_YORK)
    assert capped(last, datetime(2026, 11, 5, 8, 59, tzinfo=NEW_YORK), 7)
    assert not capped(last, datetime(2026, 11, 5, 9, 0, tzinfo=NEW_YORK), 7)


# --- the holdout ------------------------------------------------------------------------

SALT = "prm-holdout-v1"  # the default
KEYS = [f"rep-{i:05d}" for i in range(10_000)]
# Worked out once (sha256 of "salt:key", first 8 bytes as a fraction of 2**64) and pinned:
# a change of hash, salt format or byte order would silently reshuffle every rep.
PINNED = {
    "rep-00005": True,  # 0.0092
    "rep-00007": True,  # 0.0296
    "rep-00020": True,  # 0.0738
    "rep-00000": False,  # 0.7582
    "rep-00011": False,  # 0.1904
    "acme-tokyo": False,  # 0.7045
    "globex-ja": False,  # 0.1905
}


def test_holdout_answers_are_pinned():
    assert {key: in_holdout(key, SALT, 0.1) for key in PINNED} == PINNED
    # The same keys at 20 %: the two just under 0.2 join, nobody leaves.
    assert {key for key in PINNED if in_holdout(key, SALT, 0.2)} == {
        "rep-00005",
        "rep-00007",
        "rep-00020",
        "rep-00011",
        "globex-ja",
    }


def test_holdout_is_stable_across_calls_and_processes():
    first = [in_holdout(key, SALT, 0.1) for key in KEYS[:500]]
    assert [in_holdout(key, SALT, 0.1) for key in KEYS[:500]] == first
    # Another interpreter with another string-hash seed gives the same answers.
    script = (
        "from bot.domain.nudges.fatigue import in_holdout\n"
        f"print(''.join('1' if in_holdout(f'rep-{{i:05d}}', {SALT!r}, 0.1) else '0'"
        " for i in range(500)))\n"
    )
    for seed in ("1", "12345"):
        out = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        assert out == "".join("1" if x else "0" for x in first)


@pytest.mark.parametrize("share", [0.1, 0.25, 0.5])
def test_holdout_share_is_roughly_the_configured_one(share):
    held = sum(in_holdout(key, SALT, share) for key in KEYS)
    assert abs(held / len(KEYS) - share) <= 0.015, held


def test_holdout_growing_the_share_keeps_everyone_already_held_out():
    ten = {key for key in KEYS if in_holdout(key, SALT, 0.1)}
    twenty = {key for key in KEYS if in_holdout(key, SALT, 0.2)}
    assert ten < twenty


def test_another_salt_reshuffles():
    a = {key for key in KEYS if in_holdout(key, SALT, 0.1)}
    b = {key for key in KEYS if in_holdout(key, "prm-holdout-v2", 0.1)}
    assert abs(len(b) / len(KEYS) - 0.1) <= 0.015
    # Independent draws: about 10 % of one group is in the other (≈ 100 of ≈ 1,000).
    assert len(a & b) < 0.2 * len(a)


def test_share_zero_holds_out_nobody_and_share_one_everybody():
    assert not any(in_holdout(key, SALT, 0.0) for key in KEYS)
    assert all(in_holdout(key, SALT, 1.0) for key in KEYS)


def test_share_one_even_for_the_largest_possible_draw(monkeypatch):
    # A digest of all 0xff bytes is the draw 2**64 − 1, which as a float fraction rounds
    # to 1.0: the comparison must be exact so that share 1 still means everybody.
    class AllOnes:
        def __init__(self, _data: bytes) -> None:
            pass

        def digest(self) -> bytes:
            return b"\xff" * 32

    monkeypatch.setattr(fatigue.hashlib, "sha256", AllOnes)
    assert in_holdout("anyone", SALT, 1.0)
    assert not in_holdout("anyone", SALT, 0.999999)
    monkeypatch.undo()
    assert fatigue.hashlib.sha256 is hashlib.sha256


# --- stop after N nudges without progress -----------------------------------------------

T0 = utc("2026-10-01 01:00")


def history(*progressed: bool) -> list[tuple[datetime, bool]]:
    """Newest first, a week apart."""
    return [(T0 - timedelta(days=7 * i), p) for i, p in enumerate(progressed)]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((False, False, False), True),
        ((False, False, False, False, True), True),  # older progress does not count
        ((False, False, True), False),
        ((True, False, False), False),
        ((False, True, False, False, False), False),  # progress among the last 3
        ((False, False), False),  # fewer than 3
        ((), False),
    ],
)
def test_paused_after_three_in_a_row_without_progress(flags, expected):
    assert paused(history(*flags), 3) is expected


def test_stop_after_is_configurable_and_zero_disables_it():
    assert paused(history(False), 1)
    assert not paused(history(False, False, False, False, False), 0)
    assert not paused(history(False, False, False), 4)
    assert paused(history(False, False, False, False), 4)
