"""`/prm` text → question, and the PERIOD word → a half-open range in the report's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.questions import ParseError, parse
from bot.kpi.periods import PeriodError, parse_period

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 15, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "command", "kpi", "partner", "period"),
    [
        ("", "help", None, None, None),
        ("help", "help", None, None, None),
        ("kpi", "kpi", None, None, None),
        ("KPI Funnel", "kpi", "funnel", None, None),
        ("kpi all", "kpi", None, None, None),
        ("kpi deals acme 2026-Q3", "kpi", "deals", "acme", "2026-Q3"),
        ("kpi 30d Acme Japan", "kpi", None, "Acme Japan", "30d"),
        ("partner Acme & Co", "partner", None, "Acme & Co", None),
        ("me 12w", "me", None, None, "12w"),
    ],
)
def test_parse(text, command, kpi, partner, period):
    q = parse(text, TOKYO)
    assert (q.command, q.kpi, q.partner) == (command, kpi, partner)
    assert (q.period.text if q.period else None) == period


def test_the_text_is_read_as_typed_slack_escapes_are_undone_by_the_dispatcher():
    from bot.core.settings import Settings
    from bot.slack.dispatch import question_of

    assert parse("partner Acme &amp; Co", TOKYO).partner == "Acme &amp; Co"
    settings = Settings(_env_file=None, tz="Asia/Tokyo")
    assert question_of("partner Acme &amp; Co &lt;x&gt;", settings).partner == "Acme & Co <x>"
    assert question_of("partner Acme & Co", settings).partner == "Acme & Co"


def test_unknown_subcommand_is_help_naming_the_word():
    q = parse("wat now", TOKYO)
    assert (q.command, q.unknown) == ("help", "wat")


def test_me_takes_no_partner():
    assert parse("me acme", TOKYO).command == "help"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("partner", "partner_missing"),
        ("kpi 2026-13", "bad_period"),
        ("kpi 0d", "bad_period"),
        ("kpi 30d 3m", "two_periods"),
    ],
)
def test_bad_arguments_are_precise(text, code):
    with pytest.raises(ParseError) as err:
        parse(text, TOKYO)
    assert err.value.code == code


def test_month_is_local_calendar_month_as_of_its_end():
    q = parse_period("2026-10", TOKYO).question(NOW)
    assert q["period_from"] == datetime(2026, 10, 1, tzinfo=TOKYO)
    assert q["period_to"] == datetime(2026, 11, 1, tzinfo=TOKYO)
    assert q["as_of"] == datetime(2026, 11, 1, tzinfo=TOKYO)


def test_current_quarter_is_as_of_now():
    q = parse_period("2026-Q4", TOKYO).question(NOW)
    assert q["period_from"] == datetime(2026, 10, 1, tzinfo=TOKYO)
    assert q["period_to"] == datetime(2027, 1, 1, tzinfo=TOKYO)
    assert q["as_of"] == NOW


def test_span_counts_back_from_now():
    assert parse_period("12W", TOKYO).question(NOW) == {"as_of": NOW, "last": "12w"}


@pytest.mark.parametrize("word", ["2026-00", "1999-Q1", "2026-Q5", "x"])
def test_bad_periods(word):
    with pytest.raises(PeriodError):
        parse_period(word, TOKYO)
