"""How people see numbers, and the long CSV shape."""

from __future__ import annotations

import csv
import io

import pytest

from bot.cli import flat, tables
from bot.core.numbers import count, days, number, pct


def test_people_see_one_decimal_percentages_separators_and_dashes() -> None:
    assert pct(8 / 18) == "44.4 %"
    assert pct(3 / 22) == "13.6 %"
    assert pct(1.0) == "100.0 %"
    assert pct(None) == "—"
    assert count(1234567) == "1,234,567"
    assert count(None) == "—"
    assert number(13.333, 2) == "13.33"
    assert days(30.6) == "31 d"


def test_long_csv_names_every_item_and_metric() -> None:
    text = tables.csv_report(
        {
            "report": {"as_of": "2026-11-01T00:00:00+09:00", "period": {"from": "a", "to": "b"}},
            "deals": {
                "activation_rate": None,
                "by_partner": [{"key": "acme", "registered": 5}],
                "not_activated": ["globex"],
            },
            "retention": {"windows": [{"months": 3, "eligible": 2, "retained": 1, "rate": 0.5}]},
            "reps": {"reps": [{"key": "a", "needs_coaching": True}]},
        }
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["kpi", "item", "metric", "value"]
    assert ["report", "", "period.from", "a"] in rows
    assert ["deals", "", "activation_rate", ""] in rows
    assert ["deals", "acme", "by_partner.registered", "5"] in rows
    assert ["deals", "globex", "not_activated", "true"] in rows
    assert ["retention", "3", "windows.rate", "0.5"] in rows
    assert ["reps", "a", "reps.needs_coaching", "true"] in rows


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("-", "'-"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-5", "-5"),
        ("-0.25", "-0.25"),
        ("-1e-05", "-1e-05"),
        ("0.5", "0.5"),
        ("1234", "1234"),
        ("acme-gold", "acme-gold"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_spreadsheet_safe_neutralises_formulas_not_numbers(cell: str, shown: str) -> None:
    assert tables.spreadsheet_safe(cell) == shown


def test_csv_report_is_flat_csv_with_safe_cells() -> None:
    sections = {
        "report": {"as_of": "2026-11-01T00:00:00+09:00"},
        "deals": {
            "by_partner": [{"key": "=1+1", "registered": 5}, {"key": "acme", "registered": 2}],
            "not_activated": ["@evil", "two\rlines", 'a "quoted", name'],
        },
        "nudge_lift": {"lift": -0.25, "window_days": 30},
    }
    text = tables.csv_report(sections)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["kpi", "item", "metric", "value"]
    assert ["deals", "'=1+1", "by_partner.registered", "5"] in rows
    assert ["deals", "acme", "by_partner.registered", "2"] in rows
    assert ["deals", "'@evil", "not_activated", "true"] in rows
    assert ["deals", "two\rlines", "not_activated", "true"] in rows  # quoted: one row
    assert ["deals", 'a "quoted", name', "not_activated", "true"] in rows
    assert all(len(row) == 4 for row in rows)
    assert ["nudge_lift", "", "lift", "-0.25"] in rows
    # Apart from the neutralised cells, the same rows as the plain long CSV.
    sections["deals"]["not_activated"] = ["@evil"]
    plain = [list(flat.HEADER)] + [list(r) for k, o in sections.items() for r in flat.rows(k, o)]
    rows = list(csv.reader(io.StringIO(tables.csv_report(sections))))
    assert [[c.removeprefix("'") for c in row] for row in rows] == plain


def test_demo_exchange_files_hold_no_would_be_formulas(tmp_path) -> None:
    """`prm demo generate` writes exchange files raw, on purpose (docs/deploy.md): they are
    data for re-import. That stays harmless only while no generated cell looks like a
    formula; this keeps the generator to that."""
    from datetime import UTC, datetime

    from bot.demo.generator import generate

    generate(tmp_path, partners=30, end=datetime(2026, 11, 1, tzinfo=UTC), seed=7, fmt="csv")
    files = sorted(tmp_path.glob("*.csv"))
    assert len(files) == 4
    for path in files:
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert tables.spreadsheet_safe(cell) == cell, (path.name, cell)


@pytest.mark.parametrize(
    ("value", "currency", "locale", "shown"),
    [
        (1_234_567, "USD", "en", "$1.2M"),
        (1_250_000, "USD", "en", "$1.3M"),  # half up, not Babel's half-even $1.2M
        (15_550_000_000, "USD", "en", "$15.6B"),
        (12_300, "USD", "en", "$12,300"),
        (896_765.61, "USD", "en", "$896,766"),  # whole units
        (0.25, "USD", "en", "$0.25"),  # below one unit: its cents
        (0, "USD", "en", "$0"),
        (None, "USD", "en", "—"),
        (12_300_000, "JPY", "ja", "¥12,300,000"),  # full amount, the ¥ people type
        (1_234.5, "JPY", "ja", "¥1,235"),  # no decimals in yen
        (1_234_567, "USD", "ja", "$1,234,567"),
        (1_234_567, "JPY", "en", "¥1.2M"),
    ],
)
def test_money_in_the_readers_locale(value, currency, locale, shown) -> None:
    from bot.core.numbers import money

    assert money(value, currency, locale) == shown


def _plain(renderable) -> str:
    from rich.console import Console

    console = Console(width=120, record=True, highlight=False)
    console.print(renderable)
    return console.export_text()


def test_no_bottleneck_when_nothing_drops() -> None:
    steps = [
        {"key": "signed", "reached": 3, "step_rate": None, "cumulative_rate": 1.0, "stuck": 0},
        {"key": "registered", "reached": 3, "step_rate": 1.0, "cumulative_rate": 1.0, "stuck": 3},
    ]
    text = _plain(tables.funnel({"steps": steps, "bottleneck": "registered"}, tables.Namer()))
    assert "No bottleneck" in text and "◀" not in text
    steps[1] = {**steps[1], "reached": 2, "step_rate": 2 / 3}
    text = _plain(tables.funnel({"steps": steps, "bottleneck": "registered"}, tables.Namer()))
    assert "◀ Bottleneck: registered" in text


def test_names_are_text_not_markup_and_keys_on_request() -> None:
    namer = tables.Namer(partners={"acme": "[red]Acme[/red]"}, show_keys=True)
    obj = {"registered": 1, "activated": 1, "activation_rate": 1.0, "newly_activated": 0,
           "by_partner": [{"key": "acme", "registered": 1}], "not_activated": ["acme"]}  # fmt: skip
    text = _plain(tables.deals(obj, namer))
    assert "[red]Acme[/red]  acme" in text
    assert namer.wanted["partners"] == {"acme"}
