"""How people see numbers, and the long CSV shape."""

from __future__ import annotations

import csv
import io

from bot.render import flat
from bot.render.numbers import count, days, number, pct


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
    text = flat.to_csv(
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
