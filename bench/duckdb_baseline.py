"""The five-KPI report in DuckDB: a second time to beat, and a third implementation.

Two ways, both timed: (1) `csv`, DuckDB reading the four CSVs itself (with the same type
checks the importer makes: instants must parse, keys must exist) and computing the report;
(2) `file`, the same tables loaded once into a DuckDB database file, then the report
computed on that file in a fresh process, as `prm kpi all` runs on its own database.
Written from kpi-spec.md in SQL, not from bot/kpi/; compared key by key with the engine's
report (bench/pandas_baseline.compare_reports). UTC reporting zone, default period.

    python bench/duckdb_baseline.py --data bench/data/M-... --as-of 2026-11-01T00:00:00+00:00 \
        [--file bench/data/M.duckdb] [--json-out report.json] [--compare prm.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pandas_baseline import (
    ACTIVE_TYPES,
    COACHING_MIN_LEADS,
    COACHING_RATIO,
    DORMANT_DAYS,
    JOURNEY,
    PERIOD_DAYS,
    RETENTION_MONTHS,
    compare_reports,
    days_before,
    months_before,
)


def load(con: duckdb.DuckDBPyConnection, data: Path) -> None:
    """The four CSVs as typed tables; a timestamp that does not parse fails the load."""
    con.execute("SET TimeZone = 'UTC'")

    def csv(name: str) -> str:
        return f"read_csv('{data / name}', header = true, all_varchar = true)"

    con.execute(
        f"""CREATE OR REPLACE TABLE partners AS SELECT key, tier, manager_slack_id,
            CAST(signed_at AS TIMESTAMPTZ) AS signed_at FROM {csv("partners.csv")}"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE users AS SELECT key, partner_key,
            CAST(registered_at AS TIMESTAMPTZ) AS registered_at FROM {csv("users.csv")}"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE assets AS SELECT key,
            list_contains(string_split(coalesce(tags, ''), ';'), 'onboarding') AS onboarding
            FROM {csv("assets.csv")}"""
    )
    # The same event id twice is stored once (the first in the file).
    con.execute(
        f"""CREATE OR REPLACE TABLE events AS
            SELECT event_id, CAST(occurred_at AS TIMESTAMPTZ) AS occurred_at, type,
                   partner_key, user_key, object_key
            FROM (SELECT *, row_number() OVER () AS line FROM {csv("events.csv")})
            QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY line) = 1"""
    )


def _rate(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def _ts(t: pd.Timestamp) -> str:
    return f"TIMESTAMPTZ '{t.isoformat()}'"


def compute(con: duckdb.DuckDBPyConnection, as_of: pd.Timestamp) -> dict[str, Any]:
    tz = "UTC"
    con.execute("SET TimeZone = 'UTC'")
    p_from, p_to = days_before(as_of, PERIOD_DAYS, tz), as_of
    a, f, t = _ts(as_of), _ts(p_from), _ts(p_to)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE cohort AS SELECT * FROM partners WHERE signed_at < {a}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ev AS SELECT e.* FROM events e "
        "JOIN cohort c ON c.key = e.partner_key"
    )
    size = con.execute("SELECT count(*) FROM cohort").fetchone()[0]
    report: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "period": {"from": p_from.isoformat(), "to": p_to.isoformat()},
        "cohort_size": size,
    }
    report["funnel"] = _funnel(con, a)
    report["content"] = _content(con, a, f, t, size)
    report["deals"] = _deals(con, a, f, t, size)
    report["reps"] = _reps(con, f, t)
    report["retention"] = _retention(con, as_of)
    return report


def _funnel(con: duckdb.DuckDBPyConnection, a: str) -> dict[str, Any]:
    firsts = ", ".join(
        f"min(occurred_at) FILTER (WHERE type = '{type_}') AS {step}" for step, type_ in JOURNEY[2:]
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE times AS
        SELECT c.key, c.signed_at AS signed, r.registered, {", ".join(s for s, _ in JOURNEY[2:])}
        FROM cohort c
        LEFT JOIN (SELECT partner_key, min(registered_at) AS registered FROM users
                   WHERE registered_at < {a} GROUP BY partner_key) r ON r.partner_key = c.key
        LEFT JOIN (SELECT partner_key, {firsts} FROM ev WHERE occurred_at < {a}
                   GROUP BY partner_key) x ON x.partner_key = c.key"""
    )
    names = [s for s, _ in JOURNEY]
    reached_expr = [
        " AND ".join(f"{n} IS NOT NULL" for n in names[: k + 1]) for k in range(len(names))
    ]
    steps: list[dict[str, Any]] = []
    reached: list[int] = []
    for k, step in enumerate(names):
        here = reached_expr[k]
        nxt = reached_expr[k + 1] if k + 1 < len(names) else "TRUE"  # the last: never stuck
        latest = f"greatest({', '.join(names[: k + 1])})"
        n, stuck, med, mx = con.execute(
            f"""SELECT count(*) FILTER (WHERE {here}),
                       count(*) FILTER (WHERE {here} AND NOT ({nxt})),
                       median(epoch({a}) - epoch({latest})) FILTER (WHERE {here} AND NOT ({nxt})),
                       max(epoch({a}) - epoch({latest})) FILTER (WHERE {here} AND NOT ({nxt}))
                FROM times"""
        ).fetchone()
        reached.append(int(n))
        steps.append(
            {
                "key": step,
                "reached": int(n),
                "step_rate": None if k == 0 else _rate(n, reached[k - 1]),
                "cumulative_rate": _rate(n, reached[0]),
                "stuck": int(stuck),
                "stuck_median_days": None if med is None else med / 86400,
                "stuck_max_days": None if mx is None else mx / 86400,
            }
        )
    candidates = [(s["step_rate"], i) for i, s in enumerate(steps) if s["step_rate"] is not None]
    return {"steps": steps, "bottleneck": steps[min(candidates)[1]]["key"] if candidates else None}


def _content(con: duckdb.DuckDBPyConnection, a: str, f: str, t: str, size: int) -> dict[str, Any]:
    period = f"occurred_at >= {f} AND occurred_at < {t} AND type = 'content.downloaded'"
    downloads, users, partners = con.execute(
        "SELECT count(*), count(DISTINCT user_key), count(DISTINCT partner_key) "
        f"FROM ev WHERE {period}"
    ).fetchone()
    assets = con.execute(
        f"""SELECT a.key, coalesce(d.n, 0), coalesce(d.u, 0) FROM assets a
            LEFT JOIN (SELECT object_key, count(*) AS n, count(DISTINCT user_key) AS u
                       FROM ev WHERE {period} GROUP BY object_key) d ON d.object_key = a.key
            ORDER BY 2 DESC, a.key"""
    ).fetchall()
    reach = con.execute(
        f"""SELECT count(DISTINCT partner_key) FROM ev JOIN assets a ON a.key = ev.object_key
            WHERE a.onboarding AND type = 'content.downloaded' AND occurred_at < {a}"""
    ).fetchone()[0]
    return {
        "downloads": downloads,
        "unique_users": users,
        "unique_partners": partners,
        "onboarding_reach": _rate(reach, size),
        "assets": [{"key": k, "downloads": n, "unique_users": u} for k, n, u in assets],
        "never_downloaded": sorted(k for k, n, _ in assets if n == 0),
    }


def _deals(con: duckdb.DuckDBPyConnection, a: str, f: str, t: str, size: int) -> dict[str, Any]:
    rows = con.execute(
        f"""SELECT c.key,
                count(e.event_id) FILTER (WHERE e.occurred_at >= {f} AND e.occurred_at < {t}),
                count(e.event_id) FILTER (WHERE e.occurred_at < {a}),
                min(e.occurred_at)
            FROM cohort c LEFT JOIN ev e ON e.partner_key = c.key AND e.type = 'deal.registered'
            GROUP BY c.key"""
    ).fetchall()
    rows.sort()
    first_in = con.execute(
        f"""SELECT count(*) FROM (SELECT min(occurred_at) AS first FROM ev
            WHERE type = 'deal.registered' GROUP BY partner_key)
            WHERE first >= {f} AND first < {t}"""
    ).fetchone()[0]
    activated = [k for k, _, ever, _ in rows if ever]
    return {
        "registered": sum(n for _, n, _, _ in rows),
        "activated": len(activated),
        "activation_rate": _rate(len(activated), size),
        "newly_activated": first_in,
        "by_partner": [{"key": k, "registered": n} for k, n, _, _ in rows],
        "not_activated": sorted(k for k, _, ever, _ in rows if not ever),
    }


def _reps(con: duckdb.DuckDBPyConnection, f: str, t: str) -> dict[str, Any]:
    period = f"occurred_at >= {f} AND occurred_at < {t}"
    rows = con.execute(
        f"""SELECT u.key, u.partner_key,
                count(e.event_id) FILTER (WHERE e.type = 'lead.registered'),
                count(e.event_id) FILTER (WHERE e.type = 'deal.registered')
            FROM users u JOIN cohort c ON c.key = u.partner_key
            LEFT JOIN ev e ON e.user_key = u.key AND e.{period}
                          AND e.type IN ('lead.registered', 'deal.registered')
            WHERE u.registered_at < {t}
            GROUP BY u.key, u.partner_key"""
    ).fetchall()
    rows.sort()
    all_deals = con.execute(
        f"SELECT count(*) FROM ev WHERE {period} AND type = 'deal.registered'"
    ).fetchone()[0]
    qualified = sorted(d / n for _, _, n, d in rows if n >= COACHING_MIN_LEADS)
    median = None
    if qualified:
        mid = len(qualified) // 2
        median = qualified[mid] if len(qualified) % 2 else (qualified[mid - 1] + qualified[mid]) / 2
    reps = []
    for key, partner, leads, deals in rows:
        conversion = deals / leads if leads else None
        coaching = bool(
            leads >= COACHING_MIN_LEADS
            and median is not None
            and conversion is not None
            and conversion < COACHING_RATIO * median
        )
        reps.append({"key": key, "partner_key": partner, "leads": leads, "deals": deals,
                     "conversion": conversion, "needs_coaching": coaching})  # fmt: skip
    n = len(reps)
    top = sum(sorted((r["deals"] for r in reps), reverse=True)[: math.ceil(0.2 * n)])
    return {
        "per_rep_leads": _rate(sum(r["leads"] for r in reps), n),
        "per_rep_deals": _rate(sum(r["deals"] for r in reps), n),
        "active_reps": sum(1 for r in reps if r["leads"] or r["deals"]),
        "top20_deal_share": _rate(top, all_deals),
        "reps": reps,
    }


def _retention(con: duckdb.DuckDBPyConnection, as_of: pd.Timestamp) -> dict[str, Any]:
    longest = max(RETENTION_MONTHS)
    bounds = [months_before(as_of, i, "UTC") for i in range(longest + 1)]
    types = ", ".join(f"'{x}'" for x in ACTIVE_TYPES)
    windows = ", ".join(
        f"bool_or(occurred_at >= {_ts(bounds[i + 1])} AND occurred_at < {_ts(bounds[i])}) AS w{i}"
        for i in range(longest)
    )
    dormant_from = _ts(days_before(as_of, DORMANT_DAYS, "UTC"))
    hits = ", ".join(f"coalesce(x.w{i}, FALSE)" for i in range(longest))
    rows = con.execute(
        f"""SELECT c.key, c.signed_at, {hits},
                   coalesce(x.recent, FALSE)
            FROM cohort c LEFT JOIN (
                SELECT partner_key, {windows},
                       bool_or(occurred_at >= {dormant_from}) AS recent
                FROM ev WHERE type IN ({types}) AND occurred_at < {_ts(as_of)}
                      AND occurred_at >= {_ts(bounds[longest])}
                GROUP BY partner_key) x ON x.partner_key = c.key"""
    ).fetchall()
    out = []
    for months in RETENTION_MONTHS:
        limit = bounds[months].to_pydatetime()
        eligible = [r for r in rows if r[1] <= limit]
        retained = sum(1 for r in eligible if all(r[2 : 2 + months]))
        out.append({"months": months, "eligible": len(eligible), "retained": retained,
                    "rate": _rate(retained, len(eligible))})  # fmt: skip
    return {"windows": out, "dormant": sorted(r[0] for r in rows if not r[-1])}


def run_csv(data: Path, as_of: pd.Timestamp) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    con = duckdb.connect()
    load(con, data)
    report = compute(con, as_of)
    return report, time.perf_counter() - started


def build_file(data: Path, path: Path) -> float:
    started = time.perf_counter()
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    load(con, data)
    con.close()
    return time.perf_counter() - started


def run_file(path: Path, as_of: pd.Timestamp) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    con = duckdb.connect(str(path), read_only=True)
    report = compute(con, as_of)
    return report, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--file", type=Path, help="also build and time a DuckDB file here")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--compare", type=Path, help="a `prm kpi all --format json` output")
    parser.add_argument(
        "--only-file", action="store_true", help="just compute on an existing --file (timed)"
    )
    args = parser.parse_args(argv)
    as_of = pd.Timestamp(args.as_of).tz_convert("UTC")
    if args.only_file:
        _, seconds = run_file(args.file, as_of)
        print(json.dumps({"timings": {"file_s": seconds}}))
        return 0
    report, csv_s = run_csv(args.data, as_of)
    timings: dict[str, float] = {"csv_s": csv_s}
    if args.file:
        timings["file_build_s"] = build_file(args.data, args.file)
        report_file, timings["file_s"] = run_file(args.file, as_of)
        assert not compare_reports(report_file, report), "the file and the CSVs disagree"
    if args.json_out:
        args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    diffs: list[str] = []
    if args.compare:
        diffs = compare_reports(json.loads(args.compare.read_text()), report)
        for line in diffs:
            print(f"DIFF {line}", file=sys.stderr)
    print(json.dumps({"timings": timings, "diffs": len(diffs)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
