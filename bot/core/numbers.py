"""How people see numbers (kpi-spec.md, "Rounding and display"): 44.4 %, 1,234, and — for null;
money in the program currency (`money`): $1.2M, $12,300, ¥12,300,000.

Shared by the CLI tables and, later, Slack messages, so both always read the same.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.numbers import format_compact_currency, format_currency

NULL = "—"


def pct(value: float | None, locale: str = "en") -> str:
    """`44.4 %` (English, the CLI); Japanese writes no space before the sign: `44.4%`."""
    if value is None:
        return NULL
    return f"{value * 100:.1f}%" if locale.startswith("ja") else f"{value * 100:.1f} %"


def count(value: int | None) -> str:
    return NULL if value is None else f"{value:,}"


def number(value: float | None, digits: int = 1) -> str:
    """A non-count figure such as leads per rep."""
    return NULL if value is None else f"{value:,.{digits}f}"


def days(value: float | None, locale: str = "en") -> str:
    """A duration in days: `293 d` (English, the CLI), `293日` in Japanese."""
    if value is None:
        return NULL
    return f"{value:,.0f}日" if locale.startswith("ja") else f"{value:,.0f} d"


def change(delta: dict | None, kind: str = "count") -> str:
    """A week-over-week change: "▲ 3", "▼ 2.5 pt" (rates move in percentage points), "＝"
    (also for a change too small to show)."""
    if not delta or delta.get("change") is None:
        return ""
    value = delta["change"]
    size = round(abs(value) * 100, 1) if kind == "pct" else round(abs(value), 1)
    if size == 0:
        return "＝"
    arrow = "▲" if value > 0 else "▼"
    if kind == "pct":
        return f"{arrow} {size:.1f} pt"
    if kind == "number":
        return f"{arrow} {size:,.1f}"
    return f"{arrow} {abs(value):,}"


# Money (kpi-spec.md §6): the program's one currency (`PRM_CURRENCY`) in the reader's locale.
COMPACT_FROM = 1_000_000  # English shows $1.2M from here on, $12,300 below
FULLWIDTH_YEN, YEN = "\uffe5", "\u00a5"  # CLDR's ja yen sign, and the one people type


def money(value: float | int | Decimal | None, currency: str = "USD", locale: str = "en") -> str:
    """An amount as people read it: en `$1.2M` (from a million on) or `$12,300`; ja the
    full amount with separators (`¥12,300,000`). Amounts are rounded to whole currency
    units (only an amount below one unit keeps its cents: `$0.25`); JPY never shows
    decimals; "—" for null."""
    if value is None:
        return NULL
    amount = Decimal(str(value))
    if abs(amount) >= 1:  # a KPI, not an invoice: whole currency units
        amount = amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if not locale.startswith("ja") and abs(amount) >= COMPACT_FROM:
        # One decimal of millions/billions, rounded half up ($1.25M reads $1.3M; Babel
        # alone rounds half to even).
        digits = len(str(int(abs(amount))))
        unit = Decimal(10) ** ((digits - 1) // 3 * 3 - 1)
        amount = (amount / unit).quantize(Decimal(1), rounding=ROUND_HALF_UP) * unit
        text = format_compact_currency(amount, currency, locale=locale, fraction_digits=1)
    else:
        whole = amount == amount.to_integral_value()
        pattern = Locale.parse(locale).currency_formats["standard"].pattern.split(";")[0]
        text = (
            format_currency(
                amount,
                currency,
                format=pattern.replace(".00", ""),
                locale=locale,
                currency_digits=False,
            )
            if whole
            else format_currency(amount, currency, locale=locale)
        )
    return text.replace(FULLWIDTH_YEN, YEN)
