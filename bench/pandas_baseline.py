"""The five-KPI report the way an analyst would compute it: read the CSVs, pandas, done.

Two jobs. (1) A time to beat: `prm kpi all` should be much faster than this, CSV reading
included. (2) An independent implementation of kpi-spec.md, written from the spec and not
from bot/kpi/, so that comparing the two reports key by key catches misreadings on either
side. Default period (the 30 days before `as_of`); reporting zone UTC unless `--tz` says
otherwise (the benchmark uses UTC; other zones check the engine's local-calendar rules).

    python bench/pandas_baseline.py --data bench/data/S-... --as-of 2026-11-01T00:00:00+00:00 \
        [--json-out report.json] [--compare prm.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

JOURNEY: tuple[tuple[str, str | None], ...] = (
    ("signed", None),
    ("registered", None),
    ("logged_in", "user.login"),
    ("content_downloaded", "content.downloaded"),
    ("lead_registered", "lead.registered"),
    ("deal_registered", "deal.registered"),
    ("deal_won", "deal.won"),
)
ACTIVE_TYPES = (
    "user.login",
    "content.downloaded",
    "training.completed",
    "lead.registered",
    "deal.registered",
    "deal.won",
)
RETENTION_MONTHS = (3, 6, 12)
PERIOD_DAYS = 30
DORMANT_DAYS = 30
COACHING_MIN_LEADS = 10
COACHING_RATIO = 0.5


def _ts(series: pd.Series, plain_tz: str = "UTC") -> pd.Series:
    """Instants in UTC; plain dates (signed_at, registered_at) are midnight in `plain_tz`."""
    plain = series.fillna("").str.len() == 10
    out = pd.to_datetime(series.where(~plain), utc=True, format="ISO8601")
    if plain.any():
        days = pd.to_datetime(series.where(plain), format="%Y-%m-%d")
        out = out.where(~plain, days.dt.tz_localize(plain_tz).dt.tz_convert("UTC"))
    return out


def days_before(t: pd.Timestamp, n: int, tz: str) -> pd.Timestamp:
    """t − n days of local wall-clock time in `tz`."""
    local = t.tz_convert(tz).tz_localize(None) - pd.Timedelta(days=n)
    return local.tz_localize(tz).tz_convert("UTC")


def months_before(t: pd.Timestamp, n: int, tz: str) -> pd.Timestamp:
    """t − n calendar months of local wall-clock time, day clamped (pandas DateOffset)."""
    local = t.tz_convert(tz).tz_localize(None) - pd.DateOffset(months=n)
    return local.tz_localize(tz).tz_convert("UTC")


def load(data_dir: Path, plain_tz: str = "UTC") -> dict[str, pd.DataFrame]:
    """Read the four CSVs and parse their timestamps: the 'read' part of the timing."""
    opts: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_values": [""]}
    partners = pd.read_csv(data_dir / "partners.csv", **opts)
    users = pd.read_csv(data_dir / "users.csv", **opts)
    assets = pd.read_csv(data_dir / "assets.csv", **opts)
    events = pd.read_csv(
        data_dir / "events.csv",
        usecols=["event_id", "occurred_at", "type", "partner_key", "user_key", "object_key"],
        **opts,
    )
    partners["signed_at"] = _ts(partners["signed_at"], plain_tz)
    users["registered_at"] = _ts(users["registered_at"], plain_tz)
    events["occurred_at"] = _ts(events["occurred_at"])
    events["type"] = events["type"].astype("category")
    return {"partners": partners, "users": users, "assets": assets, "events": events}


def _rate(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def compute(
    frames: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    tz: str = "UTC",
    scope: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The spec's machine-readable report, read in the reporting zone `tz`.

    `scope` narrows the cohort by partner columns, e.g. {"tier": "gold"}.
    """
    partners, users, assets = frames["partners"], frames["users"], frames["assets"]
    events = frames["events"].drop_duplicates("event_id")
    p_to = as_of
    p_from = days_before(as_of, PERIOD_DAYS, tz)

    cohort = partners[partners["signed_at"] < as_of]
    for column, value in (scope or {}).items():
        cohort = cohort[cohort[column] == value]
    cohort_keys = pd.Index(sorted(cohort["key"]))
    size = len(cohort_keys)
    cu = users[users["partner_key"].isin(cohort_keys)]
    ev_all = events[events["partner_key"].isin(cohort_keys)]
    ev = ev_all[ev_all["occurred_at"] < as_of]
    in_period = ev_all[(ev_all["occurred_at"] >= p_from) & (ev_all["occurred_at"] < p_to)]

    report: dict[str, Any] = {
        "as_of": as_of.tz_convert(tz).isoformat(),
        "period": {
            "from": p_from.tz_convert(tz).isoformat(),
            "to": p_to.tz_convert(tz).isoformat(),
        },
        "cohort_size": size,
    }
    report["funnel"] = _funnel(cohort, cu, ev, as_of, cohort_keys)
    report["content"] = _content(assets, ev, in_period, size)
    report["deals"] = _deals(ev, ev_all, in_period, cohort_keys, p_from, p_to)
    report["reps"] = _reps(cu, in_period, p_to)
    report["retention"] = _retention(cohort, ev, as_of, cohort_keys, tz)
    return report


def _funnel(
    cohort: pd.DataFrame,
    cu: pd.DataFrame,
    ev: pd.DataFrame,
    as_of: pd.Timestamp,
    keys: pd.Index,
) -> dict[str, Any]:
    first = ev.groupby(["partner_key", "type"], observed=True)["occurred_at"].min().unstack()
    times = pd.DataFrame(index=keys)
    times["signed"] = cohort.set_index("key")["signed_at"]
    reg = cu[cu["registered_at"] < as_of].groupby("partner_key")["registered_at"].min()
    times["registered"] = reg
    for step, type_ in JOURNEY[2:]:
        times[step] = first[type_] if type_ in first.columns else pd.NaT
    steps: list[dict[str, Any]] = []
    reached_mask = pd.Series(True, index=keys)
    masks = []
    for step, _ in JOURNEY:
        reached_mask = reached_mask & times[step].notna()
        masks.append(reached_mask)
    reached = [int(m.sum()) for m in masks]
    for k, (step, _) in enumerate(JOURNEY):
        stuck_mask = masks[k] & ~masks[k + 1] if k + 1 < len(masks) else masks[k] & False
        since = times.loc[stuck_mask, [s for s, _ in JOURNEY[: k + 1]]].max(axis=1)
        days = ((as_of - since).dt.total_seconds() / 86400).to_numpy() if len(since) else []
        steps.append(
            {
                "key": step,
                "reached": reached[k],
                "step_rate": None if k == 0 else _rate(reached[k], reached[k - 1]),
                "cumulative_rate": _rate(reached[k], reached[0]),
                "stuck": int(stuck_mask.sum()),
                # Beside the contract, as docs/kpi.md defines them: days since reaching k.
                "stuck_median_days": float(np.median(days)) if len(days) else None,
                "stuck_max_days": float(np.max(days)) if len(days) else None,
            }
        )
    candidates = [(s["step_rate"], i) for i, s in enumerate(steps) if s["step_rate"] is not None]
    bottleneck = steps[min(candidates)[1]]["key"] if candidates else None
    return {"steps": steps, "bottleneck": bottleneck}


def _content(
    assets: pd.DataFrame, ev: pd.DataFrame, in_period: pd.DataFrame, size: int
) -> dict[str, Any]:
    dl = in_period[in_period["type"] == "content.downloaded"]
    per = dl.groupby("object_key").agg(
        downloads=("event_id", "size"), unique_users=("user_key", "nunique")
    )
    table = assets[["key"]].set_index("key").join(per).fillna(0).astype(int).reset_index()
    table = table.sort_values(["downloads", "key"], ascending=[False, True])
    tags = assets["tags"].fillna("").str.split(";")
    onboarding = set(assets.loc[tags.apply(lambda t: "onboarding" in t), "key"])
    all_dl = ev[ev["type"] == "content.downloaded"]
    reach = all_dl[all_dl["object_key"].isin(onboarding)]["partner_key"].nunique()
    return {
        "downloads": len(dl),
        "unique_users": int(dl["user_key"].nunique()),
        "unique_partners": int(dl["partner_key"].nunique()),
        "onboarding_reach": _rate(reach, size),
        "assets": [
            {"key": r.key, "downloads": int(r.downloads), "unique_users": int(r.unique_users)}
            for r in table.itertuples()
        ],
        "never_downloaded": sorted(table.loc[table["downloads"] == 0, "key"]),
    }


def _deals(
    ev: pd.DataFrame,
    ev_all: pd.DataFrame,
    in_period: pd.DataFrame,
    keys: pd.Index,
    p_from: pd.Timestamp,
    p_to: pd.Timestamp,
) -> dict[str, Any]:
    reg = in_period[in_period["type"] == "deal.registered"]
    by_partner = reg.groupby("partner_key").size().reindex(keys, fill_value=0)
    activated = set(ev.loc[ev["type"] == "deal.registered", "partner_key"])
    first_ever = (
        ev_all[ev_all["type"] == "deal.registered"].groupby("partner_key")["occurred_at"].min()
    )
    newly = int(((first_ever >= p_from) & (first_ever < p_to)).sum())
    return {
        "registered": len(reg),
        "activated": len(activated),
        "activation_rate": _rate(len(activated), len(keys)),
        "newly_activated": newly,
        "by_partner": [{"key": k, "registered": int(v)} for k, v in by_partner.items()],
        "not_activated": sorted(set(keys) - activated),
    }


def _reps(cu: pd.DataFrame, in_period: pd.DataFrame, p_to: pd.Timestamp) -> dict[str, Any]:
    reps = cu[cu["registered_at"] < p_to].set_index("key")
    leads = in_period[in_period["type"] == "lead.registered"].groupby("user_key").size()
    deals = in_period[in_period["type"] == "deal.registered"].groupby("user_key").size()
    table = pd.DataFrame(
        {
            "partner_key": reps["partner_key"],
            "leads": leads.reindex(reps.index, fill_value=0),
            "deals": deals.reindex(reps.index, fill_value=0),
        }
    )
    n = len(table)
    table["conversion"] = np.where(table["leads"] > 0, table["deals"] / table["leads"], np.nan)
    qualified = table[table["leads"] >= COACHING_MIN_LEADS]
    median = qualified["conversion"].median() if len(qualified) else np.nan
    table["needs_coaching"] = (table["leads"] >= COACHING_MIN_LEADS) & (
        table["conversion"] < COACHING_RATIO * median
    )
    total_deals = int(table["deals"].sum())
    top = table["deals"].sort_values(ascending=False).head(math.ceil(0.2 * n)).sum()
    rows = table.sort_index().rename_axis("key").reset_index()
    rows["conversion"] = rows["conversion"].astype(object).where(rows["leads"] > 0, None)
    return {
        "per_rep_leads": _rate(float(table["leads"].sum()), n),
        "per_rep_deals": _rate(float(total_deals), n),
        "active_reps": int(((table["leads"] > 0) | (table["deals"] > 0)).sum()),
        # Denominator: every cohort deal registration in the period, reps or not.
        "top20_deal_share": _rate(float(top), int((in_period["type"] == "deal.registered").sum())),
        "reps": rows[
            ["key", "partner_key", "leads", "deals", "conversion", "needs_coaching"]
        ].to_dict("records"),
    }


def _retention(
    cohort: pd.DataFrame, ev: pd.DataFrame, as_of: pd.Timestamp, keys: pd.Index, tz: str
) -> dict[str, Any]:
    active = ev[ev["type"].isin(ACTIVE_TYPES)]
    longest = max(RETENTION_MONTHS)
    # bounds[j] = as_of − (longest − j) months; window i = [as_of − (i+1) m, as_of − i m).
    bounds = [months_before(as_of, longest - j, tz) for j in range(longest + 1)]
    slot = pd.DatetimeIndex(bounds).searchsorted(active["occurred_at"], side="right") - 1
    inside = (slot >= 0) & (slot < longest)
    months_back = longest - 1 - slot[inside]  # i
    seen = pd.DataFrame({"p": active["partner_key"].to_numpy()[inside], "i": months_back})
    # partners × windows: True where the partner had activity in window i
    hit = (
        pd.crosstab(seen["p"], seen["i"]).reindex(index=keys, columns=range(longest), fill_value=0)
        > 0
    )
    signed = cohort.set_index("key")["signed_at"].reindex(keys)
    out = []
    for n in RETENTION_MONTHS:
        is_eligible = signed <= months_before(as_of, n, tz)
        eligible = keys[is_eligible.to_numpy()]
        retained = int((hit.loc[eligible, list(range(n))].all(axis=1)).sum())
        out.append(
            {
                "months": n,
                "eligible": len(eligible),
                "retained": retained,
                "rate": _rate(retained, len(eligible)),
            }
        )
    recent = active[active["occurred_at"] >= days_before(as_of, DORMANT_DAYS, tz)]
    dormant = sorted(set(keys) - set(recent["partner_key"]))
    return {"windows": out, "dormant": dormant}


# ---- comparison -----------------------------------------------------------------------

# Lists of objects are matched by this field; their order is checked separately.
_LIST_KEYS = {"steps": "key", "assets": "key", "by_partner": "key", "reps": "key",
              "windows": "months"}  # fmt: skip


def compare_reports(engine: Any, baseline: Any, path: str = "") -> list[str]:
    """Differences between the engine's report and this baseline, contract keys only.

    Keys of the baseline that start with `_` are informative extras and are skipped; keys the
    engine adds beside the contract are ignored. Floats compare with a 1e-9 tolerance.
    """
    diffs: list[str] = []
    if isinstance(baseline, dict):
        if not isinstance(engine, dict):
            return [f"{path}: engine has {type(engine).__name__}, expected an object"]
        for key, value in baseline.items():
            if key.startswith("_"):
                continue
            if key not in engine:
                diffs.append(f"{path}.{key}: missing in engine (baseline {_short(value)})")
                continue
            diffs.extend(compare_reports(engine[key], value, f"{path}.{key}"))
        return diffs
    if isinstance(baseline, list):
        if not isinstance(engine, list):
            return [f"{path}: engine has {_short(engine)}, expected a list"]
        field = _LIST_KEYS.get(path.rsplit(".", 1)[-1])
        if field and baseline and isinstance(baseline[0], dict):
            return _compare_keyed(engine, baseline, field, path)
        if engine != baseline:
            extra = sorted(set(map(str, engine)) - set(map(str, baseline)))
            missing = sorted(set(map(str, baseline)) - set(map(str, engine)))
            diffs.append(
                f"{path}: {len(engine)} vs baseline {len(baseline)} items; "
                f"only in engine {extra[:8]}, only in baseline {missing[:8]}"
                + ("; same items, different order" if not extra and not missing else "")
            )
        return diffs
    if not _same(engine, baseline):
        diffs.append(f"{path}: engine {_short(engine)} != baseline {_short(baseline)}")
    return diffs


def _compare_keyed(engine: list[Any], baseline: list[Any], field: str, path: str) -> list[str]:
    diffs: list[str] = []
    mine = {item.get(field): item for item in engine if isinstance(item, dict)}
    theirs = {item[field]: item for item in baseline}
    only_engine = sorted(set(mine) - set(theirs), key=str)
    only_base = sorted(set(theirs) - set(mine), key=str)
    if only_engine or only_base:
        diffs.append(
            f"{path}: {len(mine)} vs baseline {len(theirs)} items; only in engine "
            f"{only_engine[:8]}, only in baseline {only_base[:8]}"
        )
    item_diffs: list[str] = []
    for key in theirs.keys() & mine.keys():
        item_diffs.extend(compare_reports(mine[key], theirs[key], f"{path}[{key}]"))
    diffs.extend(sorted(item_diffs)[:20])
    if len(item_diffs) > 20:
        diffs.append(f"{path}: … {len(item_diffs) - 20} more item differences")
    # Orders the contract fixes: journey order, most downloaded first, sorted keys.
    order = [item.get(field) for item in engine if isinstance(item, dict)]
    if path.endswith("assets"):
        counts = [item.get("downloads", 0) for item in engine]
        if counts != sorted(counts, reverse=True):
            diffs.append(f"{path}: not sorted most-downloaded first")
    elif path.endswith(("by_partner", "reps")) and order != sorted(order):
        diffs.append(f"{path}: not sorted by key")
    elif path.endswith(("steps", "windows")) and order != [i[field] for i in baseline]:
        diffs.append(f"{path}: order {order} != {[i[field] for i in baseline]}")
    return diffs


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, bool) or isinstance(a, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, str) and isinstance(b, str) and a != b:
        try:  # instants may be spelled differently (Z / +00:00)
            return pd.Timestamp(a) == pd.Timestamp(b)
        except ValueError:
            return False
    return a == b


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "…"


def run(
    data_dir: Path,
    as_of: pd.Timestamp,
    tz: str = "UTC",
    plain_tz: str | None = None,
    scope: dict[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """The report and its timings: read (CSV + timestamp parsing), compute, total.

    Plain dates are midnight in the reporting zone `tz` unless `plain_tz` says otherwise.
    """
    t0 = time.perf_counter()
    frames = load(data_dir, plain_tz or tz)
    t1 = time.perf_counter()
    report = compute(frames, as_of, tz, scope)
    t2 = time.perf_counter()
    return report, {"read_s": t1 - t0, "compute_s": t2 - t1, "total_s": t2 - t0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="directory with the four CSVs")
    parser.add_argument("--as-of", required=True, help="ISO-8601 instant with an offset")
    parser.add_argument("--json-out", type=Path, help="write the baseline report here")
    parser.add_argument("--compare", type=Path, help="a `prm kpi all --format json` output")
    parser.add_argument("--tz", default="UTC", help="reporting zone (PRM_TIMEZONE)")
    parser.add_argument("--import-tz", help="zone the plain dates were imported in (default: --tz)")
    parser.add_argument("--partner", help="cohort: only this partner key")
    parser.add_argument("--manager", help="cohort: only this manager's partners")
    parser.add_argument("--tier", help="cohort: only this tier")
    args = parser.parse_args(argv)
    as_of = pd.Timestamp(args.as_of).tz_convert("UTC")
    given = {"key": args.partner, "manager_slack_id": args.manager, "tier": args.tier}
    scope = {k: v for k, v in given.items() if v}
    report, timings = run(args.data, as_of, args.tz, args.import_tz or args.tz, scope)
    if args.json_out:
        args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print(json.dumps({"timings": timings}))
    if args.compare:
        diffs = compare_reports(json.loads(args.compare.read_text()), report)
        for line in diffs:
            print(f"DIFF {line}")
        print(f"{len(diffs)} difference(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
