"""A manager's weekly scorecard, as data: what changed, compared like with like.

The main report comes from the engine with the same scope as `prm kpi --manager M`: the
"as of now" one is exactly what `prm kpi --manager M --as-of NOW` prints, and the same
question a week earlier gives the cumulative figures' ▲/▼ (the funnel, activation,
retention: rates with their counts). Flows (downloads, deal registrations, pipeline) are
this week's against last week's: two 7-day periods, like with like. A rate over fewer than
`SMALL` partners is shown as its counts, never as a percentage change. The 8-week trend is
one small `deals` query per week (as_of at each week's end). The newly activated partners
come from the engine too (bot.kpi.activation), names from bot.store.partners; this module
only decides what the card shows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from bot.core.timeutil import days_before
from bot.domain.lists import listed, shown
from bot.domain.tier_review import drift, week_of
from bot.kpi import KpiParams, Scope, build_report, compute
from bot.kpi.activation import newly_activated
from bot.kpi.nudge_lift import nudge_lift
from bot.kpi.registry import report_header
from bot.store import partners

SMALL = 5  # a rate over fewer partners than this is shown as counts, its change too
TREND_WEEKS = 8


def week_earlier(params: KpiParams) -> KpiParams:
    as_of = days_before(params.as_of, 7, params.tz)
    span = params.period_to - params.period_from
    return replace(params, as_of=as_of, period_to=as_of, period_from=as_of - span)


def one_week(params: KpiParams, weeks_back: int = 0) -> KpiParams:
    """The 7 days ending `weeks_back` weeks before as_of: a flow's like-for-like period."""
    end = days_before(params.as_of, 7 * weeks_back, params.tz) if weeks_back else params.as_of
    return replace(params, as_of=end, period_to=end, period_from=days_before(end, 7, params.tz))


def share(
    num_now: int, den_now: int, num_before: int | None, den_before: int | None
) -> dict[str, Any]:
    """A cumulative rate now and a week ago, with its counts. `small`: the denominator is
    under SMALL, so the card shows "2 of 3 ▲ 1" instead of a percentage and its change."""
    r_now = num_now / den_now if den_now else None
    r_before = num_before / den_before if den_before and num_before is not None else None
    d = delta(r_now, r_before)
    return {
        **d,
        "num": num_now,
        "den": den_now,
        "num_before": num_before,
        "small": den_now < SMALL,
        "count_change": delta(num_now, num_before),
    }


def delta(now: float | int | None, before: float | int | None) -> dict[str, Any]:
    if now is None or before is None:
        return {"now": now, "before": before, "change": None, "arrow": ""}
    change = now - before
    return {
        "now": now,
        "before": before,
        "change": change,
        "arrow": "▲" if change > 0 else "▼" if change < 0 else "＝",
    }


def scorecard(conn: Connection, params: KpiParams, manager: str) -> dict[str, Any] | None:
    """None for an empty book (no signed partner): such managers get no message."""
    p = replace(params, scope=Scope(manager_slack_id=manager))
    now = build_report(conn, p)
    if now["cohort_size"] == 0:
        return None
    prev_params = week_earlier(p)
    prev = build_report(conn, prev_params)
    week_start = prev_params.as_of

    # Flows: this week's 7 days against the 7 days before (like with like).
    this_week, last_week = one_week(p), one_week(p, 1)
    flows_now = {k: compute(k, conn, this_week) for k in ("content", "deals", "pipeline")}
    flows_before = {k: compute(k, conn, last_week) for k in ("content", "deals", "pipeline")}
    size = now["cohort_size"]
    activated_n = now["deals"]["activated"]
    headline = {
        "cohort_size": delta(size, prev["cohort_size"]),
        "downloads": delta(flows_now["content"]["downloads"], flows_before["content"]["downloads"]),
        "deals_registered": delta(
            flows_now["deals"]["registered"], flows_before["deals"]["registered"]
        ),
        "registered_amount": delta(
            flows_now["pipeline"]["registered_amount"],
            flows_before["pipeline"]["registered_amount"],
        ),
        "won_amount": delta(
            flows_now["pipeline"]["won_amount"], flows_before["pipeline"]["won_amount"]
        ),
        "activation": share(activated_n, size, prev["deals"]["activated"], prev["cohort_size"]),
        "onboarding_reach": delta(
            now["content"]["onboarding_reach"], prev["content"]["onboarding_reach"]
        ),
        "per_rep_leads": delta(now["reps"]["per_rep_leads"], prev["reps"]["per_rep_leads"]),
        "per_rep_deals": delta(now["reps"]["per_rep_deals"], prev["reps"]["per_rep_deals"]),
        "dormant": delta(len(now["retention"]["dormant"]), len(prev["retention"]["dormant"])),
    }
    prev_steps = {s["key"]: s for s in prev["funnel"]["steps"]}
    steps = [
        {
            **s,
            "delta": delta(
                s["cumulative_rate"], prev_steps.get(s["key"], {}).get("cumulative_rate")
            ),
            "share": share(
                s["reached"],
                size,
                prev_steps.get(s["key"], {}).get("reached"),
                prev["cohort_size"],
            ),
        }
        for s in now["funnel"]["steps"]
    ]
    prev_windows = {w["months"]: w for w in prev["retention"]["windows"]}
    # A window nobody is old enough for ("— (0 of 0)") is left out.
    windows = [
        {
            **w,
            "delta": delta(w["rate"], prev_windows.get(w["months"], {}).get("rate")),
            "share": share(
                w["retained"],
                w["eligible"],
                prev_windows.get(w["months"], {}).get("retained"),
                prev_windows.get(w["months"], {}).get("eligible"),
            ),
        }
        for w in now["retention"]["windows"]
        if w["eligible"]
    ]
    activated = newly_activated(conn, p, week_start)
    newly_dormant = sorted(set(now["retention"]["dormant"]) - set(prev["retention"]["dormant"]))
    coaching = [r for r in now["reps"]["reps"] if r["needs_coaching"]]
    drifted = drift(conn, now["tiers"], week_of(params.as_of, params.tz)) if "tiers" in now else []
    names = _names(
        conn, activated, newly_dormant, now["deals"]["not_activated"], [d["key"] for d in drifted]
    )
    rep_names = partners.rep_names(conn, [r["key"] for r in shown(coaching)])
    return {
        "manager": manager,
        "report": now,
        "headline": headline,
        "steps": steps,
        "windows": windows,
        "all_windows": now["retention"]["windows"],
        "pipeline": flows_now["pipeline"],
        "pipeline_period": now["pipeline"],
        "trend": trend(conn, p),
        "week_period": (this_week.period_from, this_week.period_to),
        "bottleneck": now["funnel"]["bottleneck"],
        "newly_activated": _named(activated, names),
        "last_push": _named(now["deals"]["not_activated"], names),
        "newly_dormant": _named(newly_dormant, names),
        "coaching": listed([{**r, "name": rep_names.get(r["key"]) or r["key"]} for r in coaching]),
        "nudge_lift": nudge_lift(conn, p),
        # Qualifying tier ≠ assigned tier: Promote / Keep buttons (bot.domain.tier_review).
        "tier_drift": listed([{**d, "name": names.get(d["key"], d["key"])} for d in drifted]),
        "week_from": week_start,
    }


def trend(conn: Connection, params: KpiParams) -> dict[str, Any]:
    """The last TREND_WEEKS weeks, oldest first: deals registered in each week and how many
    partners registered one (one small `deals` query per week), with their sparklines."""
    weeks = []
    for back in range(TREND_WEEKS - 1, -1, -1):
        week = one_week(params, back)
        d = compute("deals", conn, week)
        weeks.append(
            {
                "end": week.as_of,
                "registered": d["registered"],
                "partners": sum(1 for p in d["by_partner"] if p["registered"]),
            }
        )
    deals = [w["registered"] for w in weeks]
    active = [w["partners"] for w in weeks]
    return {
        "weeks": weeks,
        "deals_line": sparkline(deals),
        "deals_total": sum(deals),
        "deals_last": deals[-1],
        "partners_line": sparkline(active),
        "partners_last": active[-1],
    }


BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    """A compact line of block characters, highest value full height; all zeros: flat."""
    top = max(values, default=0)
    if top <= 0:
        return BARS[0] * len(values)
    return "".join(BARS[round(v / top * (len(BARS) - 1))] for v in values)


def _names(conn: Connection, *lists: list[str]) -> dict[str, str]:
    return partners.partner_names(conn, {k for items in lists for k in shown(items)})


def _named(keys: list[str], names: dict[str, str]) -> dict[str, Any]:
    return listed([{"key": k, "name": names.get(k, k)} for k in keys])


def book_size(conn: Connection, params: KpiParams, manager: str) -> int:
    """How many signed partners the manager's book holds (one count): 0 gets no scorecard,
    and is not even looked up in Slack."""
    return int(
        report_header(conn, replace(params, scope=Scope(manager_slack_id=manager)))["cohort_size"]
    )


def managers(conn: Connection) -> list[str]:
    return partners.manager_ids(conn)


def chart_inputs(card: dict[str, Any]) -> tuple[list, list]:
    """(step key, share, partners reached) per step; (months, rate, retained, eligible)."""
    steps = [(s["key"], s["cumulative_rate"], s["reached"]) for s in card["steps"]]
    windows = [(w["months"], w["rate"], w["retained"], w["eligible"]) for w in card["all_windows"]]
    return steps, windows
