"""How people see numbers (kpi-spec.md, "Rounding and display"): 44.4 %, 1,234, and — for null.

Shared by the CLI tables and, later, Slack messages, so both always read the same.
"""

from __future__ import annotations

NULL = "—"


def pct(value: float | None) -> str:
    return NULL if value is None else f"{value * 100:.1f} %"


def count(value: int | None) -> str:
    return NULL if value is None else f"{value:,}"


def number(value: float | None, digits: int = 1) -> str:
    """A non-count figure such as leads per rep."""
    return NULL if value is None else f"{value:,.{digits}f}"


def days(value: float | None) -> str:
    return NULL if value is None else f"{value:,.0f} d"


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
