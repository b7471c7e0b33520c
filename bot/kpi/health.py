"""KPI `health`: one 0–100 score per partner that says "healthy or slipping, and why".

Five components, each a fraction in [0, 1] times its weight from the program file
(`health.weights`, adding up to 100); a component's *contribution* is that product,
rounded to one decimal, and the score is the sum of the contributions, so the parts
always add up to the whole a person reads:

- `recency`: how recently anybody at the partner did anything (an active event):
  full within 7 days, nothing after 60, linear in between;
- `breadth`: the share of the partner's reps active in the last 30 days;
- `journey`: how far along the journey the partner is (steps reached after signing);
- `deals`: deal momentum over the last 30 days: two deal registrations (or a lead
  counting half a deal) make it full;
- `content`: the share of the onboarding assets somebody at the partner has opened.

The score is computed as of as_of, 7 days and 30 days earlier (the same definition each
time), and each change is explained by the components that moved, biggest drop first,
with the facts behind them ("no activity for 21 days").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from bot.core import events
from bot.core.timeutil import days_before
from bot.kpi.funnel import partner_progress
from bot.kpi.params import KpiParams
from bot.kpi.sql import (
    E,
    P,
    U,
    active_type_filter,
    at_or_before,
    cohort_where,
    with_stored_activity,
)
from bot.store import handles

A = handles.assets
T = handles.asset_tags
FULL_DAYS, ZERO_DAYS = 7, 60  # recency: full until 7 days without activity, 0 from 60
WINDOW_DAYS = 30  # breadth and deal momentum
DEALS_FOR_FULL = 2
MOVED = 0.5  # a component moving less than this many points is not named as a reason


def _facts(conn: Connection, p: KpiParams) -> dict[str, dict[str, Any]]:
    """Per cohort partner, the raw facts the components are made of, as of p.as_of."""
    as_of, tz = p.as_of, p.tz
    since_60 = days_before(as_of, ZERO_DAYS, tz)
    since_30 = days_before(as_of, WINDOW_DAYS, tz)
    in_cohort = select(P.c.id).where(cohort_where(p))
    active = and_(active_type_filter(p), E.c.occurred_at < as_of, E.c.partner_id.in_(in_cohort))
    facts: dict[str, dict[str, Any]] = {}
    ids = {r.id: r.key for r in conn.execute(select(P.c.id, P.c.key).where(cohort_where(p)))}
    for key in ids.values():
        facts[key] = {"last_active": None, "active_reps": 0, "reps": 0, "deals": 0,
                      "leads": 0, "opened": 0}  # fmt: skip
    if not ids:
        return facts
    for pid, last in conn.execute(
        select(E.c.partner_id, func.max(E.c.occurred_at))
        .where(active, E.c.occurred_at >= since_60)
        .group_by(E.c.partner_id)
    ):
        facts[ids[pid]]["last_active"] = last
    for pid, n in conn.execute(
        select(E.c.partner_id, func.count(func.distinct(E.c.user_id)))
        .where(active, E.c.occurred_at >= since_30, E.c.user_id.is_not(None))
        .group_by(E.c.partner_id)
    ):
        facts[ids[pid]]["active_reps"] = int(n)
    for pid, n in conn.execute(
        select(U.c.partner_id, func.count())
        .where(
            U.c.partner_id.in_(in_cohort),
            at_or_before(U.c.registered_at, U.c.registered_on, as_of, tz),
        )
        .group_by(U.c.partner_id)
    ):
        facts[ids[pid]]["reps"] = int(n)
    for pid, type_, n in conn.execute(
        select(E.c.partner_id, E.c.type, func.count())
        .where(
            E.c.partner_id.in_(in_cohort),
            E.c.type.in_((events.DEAL, events.LEAD)),
            E.c.occurred_at >= since_30,
            E.c.occurred_at < as_of,
        )
        .group_by(E.c.partner_id, E.c.type)
    ):
        facts[ids[pid]]["deals" if type_ == events.DEAL else "leads"] = int(n)
    onboarding = (
        select(A.c.key).join(T, T.c.asset_id == A.c.id).where(T.c.tag == events.ONBOARDING_TAG)
    )
    for pid, n in conn.execute(
        select(E.c.partner_id, func.count(func.distinct(E.c.object_key)))
        .where(
            E.c.partner_id.in_(in_cohort),
            E.c.type == events.DOWNLOAD,
            E.c.occurred_at < as_of,
            E.c.object_key.in_(onboarding),
        )
        .group_by(E.c.partner_id)
    ):
        facts[ids[pid]]["opened"] = int(n)
    total_onboarding = conn.execute(
        select(func.count()).select_from(onboarding.subquery())
    ).scalar()
    steps = max(len(p.journey) - 1, 1)
    for progress in partner_progress(conn, p):
        if progress.key in facts:
            facts[progress.key]["journey"] = (max(progress.reached, 0), steps)
    for f in facts.values():
        f.setdefault("journey", (0, steps))
        f["onboarding"] = int(total_onboarding or 0)
        last = f["last_active"]
        f["idle_days"] = None if last is None else max(0, (as_of - last).days)
    return facts


def _fractions(f: dict[str, Any]) -> dict[str, float]:
    idle = f["idle_days"]
    if idle is None:
        recency = 0.0
    else:
        recency = min(1.0, max(0.0, (ZERO_DAYS - idle) / (ZERO_DAYS - FULL_DAYS)))
    reached, steps = f["journey"]
    return {
        "recency": recency,
        "breadth": f["active_reps"] / f["reps"] if f["reps"] else 0.0,
        "journey": reached / steps,
        "deals": min(1.0, (f["deals"] + 0.5 * f["leads"]) / DEALS_FOR_FULL),
        "content": f["opened"] / f["onboarding"] if f["onboarding"] else 1.0,
    }


def _detail(component: str, f: dict[str, Any]) -> dict[str, Any]:
    """The facts behind a component, for the words people read."""
    if component == "recency":
        return {"idle_days": f["idle_days"]}
    if component == "breadth":
        return {"active_reps": f["active_reps"], "reps": f["reps"]}
    if component == "journey":
        return {"reached": f["journey"][0], "steps": f["journey"][1]}
    if component == "deals":
        return {"deals_30d": f["deals"], "leads_30d": f["leads"]}
    return {"opened": f["opened"], "onboarding": f["onboarding"]}


def _reason(component: str, d: dict[str, Any]) -> str:
    """The detail in plain English (the JSON's `reason`; Slack words them itself)."""
    if component == "recency":
        if d["idle_days"] is None:
            return f"no activity for {ZERO_DAYS} days or more"
        return f"no activity for {d['idle_days']} days" if d["idle_days"] else "active today"
    if component == "breadth":
        return f"{d['active_reps']} of {d['reps']} reps active in 30 days"
    if component == "journey":
        return f"{d['reached']} of {d['steps']} journey steps reached"
    if component == "deals":
        if not d["deals_30d"] and not d["leads_30d"]:
            return "no new lead or deal in 30 days"
        return f"{d['deals_30d']} deals and {d['leads_30d']} leads registered in 30 days"
    return f"{d['opened']} of {d['onboarding']} onboarding assets opened"


def _scores(conn: Connection, p: KpiParams) -> dict[str, dict[str, Any]]:
    weights = dict(p.program.health_weights)
    out: dict[str, dict[str, Any]] = {}
    for key, f in _facts(conn, p).items():
        fractions = _fractions(f)
        parts: list[dict[str, Any]] = []
        for component, weight in weights.items():
            detail = _detail(component, f)
            parts.append(
                {
                    "component": component,
                    "weight": weight,
                    "points": round(fractions[component] * weight, 1),
                    "detail": detail,
                    "reason": _reason(component, detail),
                }
            )
        out[key] = {"score": round(sum(c["points"] for c in parts), 1), "components": parts}
    return out


def _at(params: KpiParams, as_of: datetime) -> KpiParams:
    return replace(params, as_of=as_of)


def _change(now: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    if before is None:  # not in the cohort then (signed since)
        return {"points": None, "score_before": None, "reasons": []}
    earlier = {c["component"]: c for c in before["components"]}
    reasons: list[dict[str, Any]] = []
    for c in now["components"]:
        moved = round(c["points"] - earlier[c["component"]]["points"], 1)
        if abs(moved) >= MOVED:
            reasons.append(
                {
                    "component": c["component"],
                    "points": moved,
                    "detail": c["detail"],
                    "reason": c["reason"],
                    "text": f"{moved:+g}: {c['reason']}",
                }
            )
    # The biggest drop first, then the biggest gain.
    reasons.sort(key=lambda r: (r["points"] >= 0, -abs(r["points"]), r["component"]))
    return {
        "points": round(now["score"] - before["score"], 1),
        "score_before": before["score"],
        "reasons": reasons,
    }


def health(conn: Connection, params: KpiParams) -> dict[str, Any]:
    params = with_stored_activity(conn, params)
    now = _scores(conn, params)
    week = _scores(conn, _at(params, days_before(params.as_of, 7, params.tz)))
    month = _scores(conn, _at(params, days_before(params.as_of, 30, params.tz)))
    partners = [
        {
            "key": key,
            "score": s["score"],
            "components": s["components"],
            "change_7d": _change(s, week.get(key)),
            "change_30d": _change(s, month.get(key)),
        }
        for key, s in sorted(now.items())
    ]
    drop = params.program.health_drop_alert
    dropped = [
        p["key"]
        for p in partners
        if p["change_7d"]["points"] is not None and p["change_7d"]["points"] <= -drop
    ]
    return {
        "weights": dict(params.program.health_weights),
        "drop_alert": drop,
        "partners": partners,
        "dropped_7d": dropped,
    }
