"""What each Slack answer says, as plain data: the KPI summary, a partner's card, a rep's
own card and the App Home dashboards. No Slack and no wording here — templates word it.

Every figure comes from the KPI engine (`bot.kpi`), computed for the viewer's scope, so a
Slack answer always equals `prm kpi` for the same scope. The only thing added is access:
a rep sees individual figures for themselves alone. Names and dates are read through
bot.store.partners and bot.kpi.profiles, never by SQL here; lists are cut in
bot.domain.lists, the same way as the scorecard's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.domain.access import PartnerRef, Role, Viewer
from bot.domain.connect import offer as connect_offer
from bot.domain.lists import listed, shown
from bot.domain.tier_review import tier_progress
from bot.kpi import KPI_NAMES, KpiParams, Scope, build_report, compute
from bot.kpi.funnel import partner_progress
from bot.kpi.profiles import partner_profile, rep_milestones
from bot.kpi.registry import report_header
from bot.store.partners import partner_names, rep_names


def scoped(params: KpiParams, scope: Scope) -> KpiParams:
    return replace(params, scope=scope)


def kpi_answer(
    conn: Connection,
    params: KpiParams,
    viewer: Viewer,
    kpi: str | None = None,
    partner: PartnerRef | None = None,
) -> dict[str, Any]:
    """`/prm kpi [kpi] [partner] [period]`: the viewer's book, or one partner of it."""
    scope = Scope(partner_key=partner.key) if partner else viewer.book_scope()
    p = scoped(params, scope)
    if kpi is None:
        report = build_report(conn, p)
        names: tuple[str, ...] = KPI_NAMES
    else:
        report = {**report_header(conn, p), kpi: compute(kpi, conn, p)}
        names = (kpi,)
    return {
        "kpis": names,
        "report": _for_viewer(report, viewer),
        "lists": _lists(conn, report),
        "named": _named(conn, _for_viewer(report, viewer), p),
        "scope": _scope_label(viewer, partner),
        "journey": [s.key for s in p.journey],
    }


def partner_card(
    conn: Connection, params: KpiParams, viewer: Viewer, partner: PartnerRef
) -> dict[str, Any]:
    """`/prm partner NAME`: where the partner stands on the journey, its KPIs and reps."""
    p = scoped(params, Scope(partner_key=partner.key))
    info = partner_profile(conn, p, partner.key)
    progress = partner_progress(conn, p)
    reached = progress[0].reached if progress else -1
    since = progress[0].reached_at if progress else None
    report = build_report(conn, p)
    signed = info.signed_at
    return {
        "partner": {"key": info.key, "name": info.name, "tier": info.tier, "signed_at": signed},
        "signed": signed is not None and signed < p.as_of,
        "journey": _journey(p, reached, since),
        "tier": tier_progress(report.get("tiers")),
        # The vendor's own reading of the partner: never shown to the partner's side.
        "health": None if viewer.partner_side else _health(conn, p),
        "report": _for_viewer(report, viewer),
        "lists": _lists(conn, report),
        "named": _named(conn, _for_viewer(report, viewer), p),
        # The card's Slack Connect button for its manager and admins (bot.domain.connect).
        "connect": connect_offer(conn, viewer, partner.key),
    }


def _health(conn: Connection, p: KpiParams) -> dict[str, Any] | None:
    rows = compute("health", conn, p)["partners"]
    return rows[0] if len(rows) == 1 else None


def me_card(conn: Connection, params: KpiParams, viewer: Viewer) -> dict[str, Any]:
    """`/prm me`: the rep's own journey (their own first login, download, lead…), their
    next step and their leads, deals and conversion in the period."""
    rep = viewer.rep
    if rep is None:
        raise ValueError("me_card needs a rep")
    p = scoped(params, Scope(partner_key=rep.partner_key))
    when_by_source = rep_milestones(conn, p, rep.key)
    steps = []
    next_step = None
    for step in p.journey:
        when = when_by_source.get(step.source)
        done = when is not None and when < p.as_of
        steps.append({"key": step.key, "done": done, "at": when if done else None})
        if not done and next_step is None:
            next_step = step.key
    reps = compute("reps", conn, p)
    mine = next((r for r in reps["reps"] if r["key"] == rep.key), None)
    return {
        "rep": {"key": rep.key, "name": rep.name or rep.key, "partner_name": rep.partner_name},
        "steps": steps,
        "next_step": next_step,
        "tier": tier_progress(compute("tiers", conn, p)),
        "figures": mine or {"leads": 0, "deals": 0, "conversion": None, "needs_coaching": False},
        "period": report_header(conn, p)["period"],
        "as_of": p.as_of,
    }


def home(conn: Connection, params: KpiParams, viewer: Viewer) -> dict[str, Any]:
    """The App Home dashboard for the viewer's role."""
    if viewer.role is Role.STRANGER:
        return {"role": viewer.role.value}
    if viewer.role is Role.REP:
        assert viewer.rep is not None
        partner = PartnerRef(viewer.rep.partner_key, viewer.rep.partner_name)
        return {
            "role": viewer.role.value,
            "me": me_card(conn, params, viewer),
            "partner": partner_card(conn, params, viewer, partner),
        }
    if viewer.role is Role.PARTNER:
        assert viewer.partner is not None
        return {
            "role": viewer.role.value,
            "partner": partner_card(conn, params, viewer, viewer.partner),
        }
    answer = kpi_answer(conn, params, viewer)
    return {"role": viewer.role.value, **answer}


def _journey(p: KpiParams, reached: int, since: datetime | None) -> dict[str, Any]:
    steps = [s.key for s in p.journey]
    return {
        "steps": [{"key": key, "done": i <= reached} for i, key in enumerate(steps)],
        "current": steps[reached] if reached >= 0 else None,
        "next": steps[reached + 1] if reached + 1 < len(steps) else None,
        "since": since,
        "days": (p.as_of - since).days if since else None,
    }


def _for_viewer(report: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """Drop other people's individual figures from a rep's view."""
    reps = report.get("reps")
    if reps is None or not viewer.partner_side:
        return report
    allowed = set(viewer.visible_rep_keys(r["key"] for r in reps["reps"]))
    return {**report, "reps": {**reps, "reps": [r for r in reps["reps"] if r["key"] in allowed]}}


def _lists(conn: Connection, report: dict[str, Any]) -> dict[str, Any]:
    """The partner lists people act on, named, the first LIST_LIMIT of each."""
    wanted: dict[str, list[str]] = {}
    if "deals" in report:
        wanted["last_push"] = report["deals"]["not_activated"]
    if "retention" in report:
        wanted["dormant"] = report["retention"]["dormant"]
    names = partner_names(conn, {k for items in wanted.values() for k in shown(items)})
    lists: dict[str, Any] = {
        name: listed([{"key": k, "name": names.get(k, k)} for k in items])
        for name, items in wanted.items()
    }
    if "reps" in report:
        flagged = [r for r in report["reps"]["reps"] if r["needs_coaching"]]
        rep_name = rep_names(conn, {r["key"] for r in shown(flagged)})
        lists["coaching"] = listed(
            [{**r, "name": rep_name.get(r["key"]) or r["key"]} for r in flagged]
        )
    return lists


def _named(conn: Connection, report: dict[str, Any], p: KpiParams) -> dict[str, Any]:
    """The detail lists of `/prm kpi X`, by name (never bare keys), first LIST_LIMIT each:

    - `deals`: partners with deal registrations in the period, most first;
    - `reps`: the top reps by deals among those with at least `coaching_min_leads` leads
      (a rep with 1 lead and 1 deal is no "top rep"); `few_leads` counts the active reps
      left out for having fewer;
    - `pipeline`: partners with deal value in the period, most won first.
    """
    named: dict[str, Any] = {"min_leads": p.coaching_min_leads}
    partners: list[str] = []
    busiest: list[dict[str, Any]] = []
    if "deals" in report:
        busiest = sorted(
            (r for r in report["deals"]["by_partner"] if r["registered"]),
            key=lambda r: (-r["registered"], r["key"]),
        )
        partners += [r["key"] for r in shown(busiest)]
    value: list[dict[str, Any]] = []
    if "pipeline" in report:
        value = sorted(
            (
                r
                for r in report["pipeline"]["by_partner"]
                if r["registered_amount"] or r["won_amount"] or r["won_deals"]
            ),
            key=lambda r: (-r["won_amount"], -r["registered_amount"], r["key"]),
        )
        partners += [r["key"] for r in shown(value)]
    top: list[dict[str, Any]] = []
    few = 0
    if "reps" in report:
        people = report["reps"]["reps"]
        top = sorted(
            (r for r in people if r["leads"] >= p.coaching_min_leads and r["deals"]),
            key=lambda r: (-r["deals"], -(r["conversion"] or 0), r["key"]),
        )
        few = sum(
            1 for r in people if (r["leads"] or r["deals"]) and r["leads"] < p.coaching_min_leads
        )
        partners += [r["partner_key"] for r in shown(top)]
    climbing: list[dict[str, Any]] = []
    if "tiers" in report:
        # Closest to the next tier first: the fewest requirements left, then by key.
        climbing = sorted(
            (r for r in report["tiers"]["partners"] if r["next"]),
            key=lambda r: (len(r["missing"]), r["key"]),
        )
        partners += [r["key"] for r in shown(climbing)]
    names = partner_names(conn, set(partners))
    if "tiers" in report:
        named["tier"] = tier_progress(report["tiers"])
        named["tiers"] = listed(
            [{**tier_progress({"partners": [r]}), "name": names.get(r["key"], r["key"])}  # type: ignore[dict-item]
             for r in climbing]
        )  # fmt: skip
    if "deals" in report:
        named["deals"] = listed([{**r, "name": names.get(r["key"], r["key"])} for r in busiest])
    if "pipeline" in report:
        named["pipeline"] = listed([{**r, "name": names.get(r["key"], r["key"])} for r in value])
    if "reps" in report:
        rep_name = rep_names(conn, {r["key"] for r in shown(top)})
        named["reps"] = listed(
            [
                {
                    **r,
                    "name": rep_name.get(r["key"]) or r["key"],
                    "partner_name": names.get(r["partner_key"], r["partner_key"]),
                }
                for r in top
            ]
        )
        named["few_leads"] = few
    return named


def _scope_label(viewer: Viewer, partner: PartnerRef | None) -> dict[str, Any]:
    partner = partner or (viewer.own_partner if viewer.role is Role.PARTNER else None)
    if partner is not None:
        return {"kind": "partner", "name": partner.name, "key": partner.key}
    return {"kind": viewer.role.value}
