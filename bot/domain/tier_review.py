"""Tier drift for the weekly scorecard: the partners of a book whose qualifying tier
(kpi-spec.md §7) differs from the tier they were assigned, each with a Promote and a Keep
decision for the manager (docs/program.md).

A partner the manager chose to *keep* at its tier is not asked about again while it
qualifies for that same tier; once it qualifies for another one, it is. A decision is
taken once (bot.store.tier_decisions): the button carries the partner, both tiers and the
scorecard's week, and the store's unique key makes a replay change nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from bot.domain.access import Viewer, manages_partner
from bot.store import tier_decisions
from bot.store.tier_decisions import KEEP, PROMOTE

__all__ = [
    "KEEP",
    "PROMOTE",
    "Press",
    "decide",
    "drift",
    "parse_press",
    "press_value",
    "tier_progress",
    "week_of",
]


def week_of(instant: datetime, tz: ZoneInfo) -> str:
    iso = instant.astimezone(tz).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def drift(conn: Connection, tiers: dict[str, Any], week: str) -> list[dict[str, Any]]:
    """Partners qualifying above (first) or below their assigned tier, by key, without
    the ones kept at their tier for this same qualifying tier."""
    rows = {p["key"]: p for p in tiers["partners"]}
    moved = [(k, "up") for k in tiers["changes"]["up"]] + [
        (k, "down") for k in tiers["changes"]["down"]
    ]
    keys = [k for k, _ in moved]
    kept = tier_decisions.kept(conn, keys)
    out = []
    for key, direction in moved:
        row = rows[key]
        if row["qualifies"] is None:
            continue  # below the lowest tier: nothing to move it to
        if (key, row["assigned"], row["qualifies"]) in kept:
            continue
        out.append(
            {
                "key": key,
                "assigned": row["assigned"],
                "qualifies": row["qualifies"],
                "direction": direction,
                "value": press_value(key, row["assigned"], row["qualifies"], week),
            }
        )
    return out


def press_value(partner: str, from_tier: str, to_tier: str, week: str) -> str:
    return json.dumps(
        {"p": partner, "f": from_tier, "t": to_tier, "w": week}, separators=(",", ":")
    )


@dataclass(frozen=True)
class Press:
    partner: str
    from_tier: str
    to_tier: str
    week: str


def parse_press(value: str) -> Press | None:
    try:
        data = json.loads(value)
        return Press(str(data["p"]), str(data["f"]), str(data["t"]), str(data["w"]))
    except (ValueError, KeyError, TypeError):
        return None


def decide(conn: Connection, press: Press, decision: str, viewer: Viewer, now: datetime) -> str:
    """What a press came to: "denied" unless the viewer manages the partner (its manager
    or an admin, bot.domain.access.manages_partner), else the store's done, already,
    stale or unknown."""
    if not manages_partner(viewer, tier_decisions.manager_of(conn, press.partner)):
        return "denied"
    user = viewer.slack_user_id
    return tier_decisions.decide(
        conn,
        partner_key=press.partner,
        from_tier=press.from_tier,
        to_tier=press.to_tier,
        week=press.week,
        decision=decision,
        user=user,
        now=now,
    )


def tier_progress(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """One partner's tier standing from a partner-scoped `tiers` report: the tier it
    qualifies for, the one it was assigned, the next one and what that still needs, in
    the program's order of requirements (what a rep reads as "1 more won deal and 1 more
    certified rep for Gold"). None without the report or the partner."""
    rows = (report or {}).get("partners") or []
    if len(rows) != 1:
        return None
    row = rows[0]
    return {
        "qualifies": row["qualifies"],
        "assigned": row["assigned"],
        "next": row["next"],
        "missing": [{"measure": m, "value": v} for m, v in row["missing"].items()],
    }
