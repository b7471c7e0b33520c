"""A manager's weekly scorecard, as data: this week's KPIs beside last week's.

Both reports come from the engine with the same scope as `prm kpi --manager M`: the one
"as of now" is exactly what `prm kpi --manager M --as-of NOW` prints; the other is the
same question a week earlier, for the ▲/▼ deltas.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, select

from bot.core import events
from bot.core.timeutil import days_before
from bot.kpi import KpiParams, Scope, build_report
from bot.kpi.nudge_lift import nudge_lift
from bot.kpi.sql import F, P, U, cohort_where

LIST_LIMIT = 10


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
    newly_activated = [
        key
        for (key,) in conn.execute(
            select(P.c.key)
            .join(F, F.c.partner_id == P.c.id)
            .where(
                cohort_where(p),
                F.c.type == events.DEAL,
                F.c.first_at >= week_start,
                F.c.first_at < p.as_of,
            )
            .order_by(P.c.key)
        )
    ]
    newly_dormant = sorted(set(now["retention"]["dormant"]) - set(prev["retention"]["dormant"]))
    coaching = [r for r in now["reps"]["reps"] if r["needs_coaching"]]
    names = _names(conn, newly_activated, newly_dormant, now["deals"]["not_activated"])
    rep_names = dict(
        conn.execute(
            select(U.c.key, U.c.name).where(U.c.key.in_([r["key"] for r in coaching[:LIST_LIMIT]]))
        ).all()
    )
    return {
        "manager": manager,
        "report": now,
        "headline": headline,
        "steps": steps,
        "windows": windows,
        "bottleneck": now["funnel"]["bottleneck"],
        "newly_activated": _named(newly_activated, names),
        "last_push": _named(now["deals"]["not_activated"], names),
        "newly_dormant": _named(newly_dormant, names),
        "coaching": {
            "items": [
                {**r, "name": rep_names.get(r["key"]) or r["key"]} for r in coaching[:LIST_LIMIT]
            ],
            "total": len(coaching),
            "more": max(0, len(coaching) - LIST_LIMIT),
        },
        "nudge_lift": nudge_lift(conn, p),
        "week_from": week_start,
    }


def _names(conn: Connection, *lists: list[str]) -> dict[str, str]:
    keys = {k for items in lists for k in items[:LIST_LIMIT]}
    return dict(conn.execute(select(P.c.key, P.c.name).where(P.c.key.in_(keys))).all())


def _named(keys: list[str], names: dict[str, str]) -> dict[str, Any]:
    return {
        "items": [{"key": k, "name": names.get(k, k)} for k in keys[:LIST_LIMIT]],
        "total": len(keys),
        "more": max(0, len(keys) - LIST_LIMIT),
    }


def managers(conn: Connection) -> list[str]:
    return [
        m
        for (m,) in conn.execute(
            select(P.c.manager_slack_id).where(P.c.manager_slack_id.is_not(None)).distinct()
        )
    ]


def chart_inputs(card: dict[str, Any]) -> tuple[list, list]:
    steps = [(s["key"], s["cumulative_rate"]) for s in card["steps"]]
    windows = [(w["months"], w["rate"]) for w in card["windows"]]
    return steps, windows
