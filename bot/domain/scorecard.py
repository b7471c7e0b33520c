"""A manager's weekly scorecard, as data: this week's KPIs beside last week's.

Both reports come from the engine with the same scope as `prm kpi --manager M`: the one
"as of now" is exactly what `prm kpi --manager M --as-of NOW` prints; the other is the
same question a week earlier, for the ▲/▼ deltas. The newly activated partners come from
the engine too (bot.kpi.activation), names from bot.store.partners; this module only
decides what the card shows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from bot.core.timeutil import days_before
from bot.domain.lists import listed, shown
from bot.kpi import KpiParams, Scope, build_report
from bot.kpi.activation import newly_activated
from bot.kpi.nudge_lift import nudge_lift
from bot.store import partners


def week_earlier(params: KpiParams) -> KpiParams:
    as_of = days_before(params.as_of, 7, params.tz)
    span = params.period_to - params.period_from
    return replace(params, as_of=as_of, period_to=as_of, period_from=as_of - span)


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

    headline = {
        "cohort_size": delta(now["cohort_size"], prev["cohort_size"]),
        "onboarding_reach": delta(
            now["content"]["onboarding_reach"], prev["content"]["onboarding_reach"]
        ),
        "downloads": delta(now["content"]["downloads"], prev["content"]["downloads"]),
        "deals_registered": delta(now["deals"]["registered"], prev["deals"]["registered"]),
        "activation_rate": delta(now["deals"]["activation_rate"], prev["deals"]["activation_rate"]),
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
        }
        for s in now["funnel"]["steps"]
    ]
    prev_windows = {w["months"]: w for w in prev["retention"]["windows"]}
    windows = [
        {**w, "delta": delta(w["rate"], prev_windows.get(w["months"], {}).get("rate"))}
        for w in now["retention"]["windows"]
    ]
    activated = newly_activated(conn, p, week_start)
    newly_dormant = sorted(set(now["retention"]["dormant"]) - set(prev["retention"]["dormant"]))
    coaching = [r for r in now["reps"]["reps"] if r["needs_coaching"]]
    names = _names(conn, activated, newly_dormant, now["deals"]["not_activated"])
    rep_names = partners.rep_names(conn, [r["key"] for r in shown(coaching)])
    return {
        "manager": manager,
        "report": now,
        "headline": headline,
        "steps": steps,
        "windows": windows,
        "bottleneck": now["funnel"]["bottleneck"],
        "newly_activated": _named(activated, names),
        "last_push": _named(now["deals"]["not_activated"], names),
        "newly_dormant": _named(newly_dormant, names),
        "coaching": listed([{**r, "name": rep_names.get(r["key"]) or r["key"]} for r in coaching]),
        "nudge_lift": nudge_lift(conn, p),
        "week_from": week_start,
    }


def _names(conn: Connection, *lists: list[str]) -> dict[str, str]:
    return partners.partner_names(conn, {k for items in lists for k in shown(items)})


def _named(keys: list[str], names: dict[str, str]) -> dict[str, Any]:
    return listed([{"key": k, "name": names.get(k, k)} for k in keys])


def managers(conn: Connection) -> list[str]:
    return partners.manager_ids(conn)


def chart_inputs(card: dict[str, Any]) -> tuple[list, list]:
    steps = [(s["key"], s["cumulative_rate"]) for s in card["steps"]]
    windows = [(w["months"], w["rate"]) for w in card["windows"]]
    return steps, windows
