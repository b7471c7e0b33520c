"""What the benchmark scripts share: sizes, the fixed end instant, where data lives."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"

SIZES: dict[str, int] = {"S": 20, "M": 1_000, "L": 10_000, "XL": 40_000}  # partners
# pandas holds every event in memory: at XL (19M events) it needs more than the machine's
# spare memory, so XL is compared with DuckDB only.
PANDAS_SIZES = frozenset({"S", "M", "L"})
END = datetime(2026, 11, 1, tzinfo=UTC)  # generation end = the reports' as_of
SEED = 20260401
TARGETS = {"kpi_all_s": 2.0, "rss_mb": 400.0, "pandas_ratio": 10.0, "import_eps": 30_000.0}

CROSS_ZONES = ("UTC", "Asia/Tokyo", "America/New_York")
# `END`, a month-end (day clamping), a period that spans a DST change in New York.
CROSS_AS_OF = (END.isoformat(), "2026-03-31T12:00:00+00:00", "2026-03-20T16:00:00+00:00")
CROSS_SCOPES: tuple[tuple[str, ...], ...] = (
    (),
    ("--tier", "gold"),
    ("--manager", "U0MGR003"),
    ("--partner", "p-article"),
)


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def data_folder(size: str, seed: int) -> Path:
    return DATA / f"{size}-p{SIZES[size]}-seed{seed}-{END:%Y%m%dT%H%M}"
