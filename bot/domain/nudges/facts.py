"""Per-rep facts for the next-action rules, and what counts as progress after a nudge.

The figures are aggregated in SQL, never event by event: who is in scope comes from the
KPI engine (bot.kpi.rep_facts), first/last times and onboarding downloads from the
activity store, past nudges from the ledger. This module decides what they mean for the
rules: which events are a rep's own activity, and whether a nudge was followed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.core.events import ACTIVITY_TYPES
from bot.domain.nudges.rules import RepFacts
from bot.kpi import compute
from bot.kpi.params import KpiParams
from bot.kpi.rep_facts import Rep, cohort_reps
from bot.store import activity, ledger
from bot.store.ledger import PastNudge

__all__ = [
    "PastNudge",
    "Rep",
    "facts",
    "onboarding_assets",
    "past_nudges",
    "progressed",
    "reps",
    "tier_gaps",
]


def reps(conn: Connection, params: KpiParams) -> list[Rep]:
    """Every registered user of a signed partner in scope, as of params.as_of."""
    return cohort_reps(conn, params)


def tier_gaps(conn: Connection, params: KpiParams, people: list[Rep]) -> dict[int, dict[str, Any]]:
    """Per rep (user id): their partner's next tier and its one missing requirement, for
    the partners exactly one requirement away from it (the `tier_close` condition)."""
    close: dict[str, dict[str, Any]] = {}
    for row in compute("tiers", conn, params)["partners"]:
        if row["next"] and len(row["missing"]) == 1:
            missing = [{"measure": m, "value": v} for m, v in row["missing"].items()]
            close[row["key"]] = {"next": row["next"], "qualifies": row["qualifies"],
                                 "assigned": row["assigned"], "missing": missing}  # fmt: skip
    return {r.user_id: close[r.partner_key] for r in people if r.partner_key in close}


def facts(
    conn: Connection,
    now: datetime,
    user_ids: set[int],
    gaps: dict[int, dict[str, Any]] | None = None,
) -> dict[int, RepFacts]:
    """First and last time of each event type per rep, plus onboarding downloads and,
    when `gaps` is given (tier_gaps), how close the rep's partner is to its next tier."""
    # Only the rep's own activity: a manager's decision on their deal is not theirs.
    spans = activity.rep_spans(conn, now, ACTIVITY_TYPES, user_ids)
    onboarding = activity.onboarding_downloads(conn, now)
    result: dict[int, RepFacts] = {}
    for uid in user_ids:
        span = spans.get(uid)
        last = span.last if span else {}
        result[uid] = RepFacts(
            user_id=uid,
            key="",
            first=span.first if span else {},
            last=last,
            last_active=max(last.values()) if span else None,
            onboarding_downloads=onboarding.get(uid, 0),
            tier_gap=(gaps or {}).get(uid),
        )
    return result


def past_nudges(conn: Connection, now: datetime) -> dict[int, list[PastNudge]]:
    """Every rep's nudges (sent, or held out), newest first."""
    return ledger.nudge_history(conn, now)


def progressed(f: RepFacts, nudge: PastNudge) -> bool:
    """Did the rep do what the nudge asked for, after it?"""
    if nudge.target in (None, "any"):
        return f.last_active is not None and f.last_active > nudge.at
    done = f.last.get(nudge.target)
    return done is not None and done > nudge.at


def onboarding_assets(conn: Connection, now: datetime, n: int) -> list[dict[str, str | None]]:
    """The onboarding assets that matter most: the most downloaded in the last 90 days.

    Only reps with no onboarding download get them, so none is one they already have.
    """
    return activity.popular_onboarding_assets(conn, now)[: max(n, 0)]
