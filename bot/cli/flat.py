"""The report as long-format CSV rows: `kpi,item,metric,value` (written, spreadsheet-safe,
by `bot.cli.tables.csv_report`).

One shape for every KPI, so a spreadsheet can pivot any of them; values are the
machine-readable ones (fractions, not percentages; empty for null).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

HEADER = ("kpi", "item", "metric", "value")
_ITEM_KEYS = ("key", "months")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def rows(kpi: str, obj: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    for metric, value in obj.items():
        if isinstance(value, dict):
            for sub, sub_value in value.items():
                yield kpi, "", f"{metric}.{sub}", _cell(sub_value)
        elif isinstance(value, list):
            for entry in value:
                if isinstance(entry, dict):
                    item_key = next((k for k in _ITEM_KEYS if k in entry), None)
                    item = _cell(entry[item_key]) if item_key else ""
                    for field, field_value in entry.items():
                        if field == item_key:
                            continue
                        if isinstance(field_value, dict):  # tiers: measures, missing
                            for sub, sub_value in field_value.items():
                                yield kpi, item, f"{metric}.{field}.{sub}", _cell(sub_value)
                        else:
                            yield kpi, item, f"{metric}.{field}", _cell(field_value)
                else:
                    yield kpi, _cell(entry), metric, "true"
        else:
            yield kpi, "", metric, _cell(value)
