"""The manager's worklist (`/prm todo`, docs/worklist.md): the partners of the asker's
book that need them now, most urgent first, each with why and the one suggested action;
and what the buttons on it record.

On the list: partners stuck at one journey step longer than PRM_WORKLIST_STUCK_DAYS,
partners gone dormant (the retention KPI's definition), partners signed more than
PRM_ACTIVATION_DAYS ago without a deal registration, and partners with reps needing
coaching (the reps KPI's flag). A partner the asker snoozed stays off until the snooze
ends. Access: the book comes from bot.domain.access (admins: the whole program); every
button press is authorised again here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Connection

from bot.core.settings import Settings
from bot.domain.access import Role, Viewer, may_see_partner
from bot.domain.lists import listed
from bot.kpi import KpiParams, Scope, compute
from bot.kpi.params import DORMANT_DAYS, params_from_settings
from bot.kpi.worklist_facts import at_steps, last_active, not_activated, open_pipeline
from bot.store import partners, worklist

STUCK, DORMANT, NOT_ACTIVATED, COACHING = "stuck", "dormant", "not_activated", "coaching"
NUDGE, HAND_CS, SNOOZE, OPEN = "nudge", "hand_cs", "snooze", "open"
ACTIONS = (NUDGE, HAND_CS, SNOOZE, OPEN)
SNOOZE_DAYS = 14
# What each reason calls for: reps who have not done the next step get their next action;
# a partner gone quiet, or reps who convert badly, need a person (their CS owner).
SUGGESTED = {STUCK: NUDGE, NOT_ACTIVATED: NUDGE, DORMANT: HAND_CS, COACHING: HAND_CS}
# Most urgent reason first when a partner has several (it picks the suggestion).
ORDER = {STUCK: 0, NOT_ACTIVATED: 1, DORMANT: 2, COACHING: 3}
# Urgency: days waiting, plus one day per PIPELINE_PER_DAY of open pipeline (at most
# PIPELINE_MAX_DAYS), so a partner with deals at stake comes before an equally late one.
PIPELINE_PER_DAY = Decimal(1000)
PIPELINE_MAX_DAYS = 30


@dataclass(frozen=True)
class Reason:
    kind: str  # stuck | dormant | not_activated | coaching
    days: int | None = None
    step: str | None = None  # stuck: the step it reached; next: the one it has not
    next: str | None = None
    reps: tuple[str, ...] = ()  # coaching: the reps' names


@dataclass(frozen=True)
class Item:
    partner_key: str
    partner_name: str
    reasons: tuple[Reason, ...]
    action: str  # the suggested one: nudge | hand_cs
    depth: int  # journey step index reached (what "moved forward" is measured from)
    pipeline: Decimal | None = None
    urgency: float = 0.0


@dataclass(frozen=True)
class Worklist:
    items: list[Item]
    stuck_days: int
    activation_days: int
    followup: dict[str, int] = field(default_factory=dict)


class Outcome(StrEnum):
    DONE = "done"
    NOT_IN_BOOK = "worklist_not_in_book"
    NOT_MANAGER = "worklist_not_manager"


def may_use(viewer: Viewer) -> bool:
    """The worklist is for the people with a book: managers, CS owners and admins."""
    return viewer.role in (Role.ADMIN, Role.MANAGER, Role.CS)


def build(
    conn: Connection,
    params: KpiParams,
    viewer: Viewer,
    stuck_days: int,
    activation_days: int,
    only: str | None = None,
) -> Worklist:
    """The viewer's worklist as of params.as_of (`only`: just that partner, for a button)."""
    scope = viewer.book_scope()
    if only is not None:
        scope = replace(scope, partner_key=only)
    p = replace(params, scope=scope)
    now = p.as_of
    steps = [s.key for s in p.journey]
    found: dict[str, list[Reason]] = {}
    at = at_steps(conn, p)
    for key, a in at.items():
        if a.since is None or a.depth < 0 or a.last_step:
            continue
        days = (now - a.since).days
        if now - a.since > timedelta(days=stuck_days):
            found.setdefault(key, []).append(
                Reason(STUCK, days, steps[a.depth], steps[a.depth + 1])
            )
    for key, signed in not_activated(conn, p, now - timedelta(days=activation_days)).items():
        found.setdefault(key, []).append(Reason(NOT_ACTIVATED, (now - signed).days))
    dormant = compute("retention", conn, p)["dormant"]
    quiet_since = last_active(conn, p, dormant)
    for key in dormant:
        since = quiet_since.get(key) or (at[key].since if key in at else None)
        if since is None:
            continue
        days = (now - since).days
        if days >= DORMANT_DAYS:
            found.setdefault(key, []).append(Reason(DORMANT, days))
    coaching: dict[str, list[str]] = {}
    for r in compute("reps", conn, p)["reps"]:
        if r["needs_coaching"]:
            coaching.setdefault(r["partner_key"], []).append(r["key"])
    rep_names = partners.rep_names(conn, {k for ks in coaching.values() for k in ks})
    for key, reps in coaching.items():
        names = tuple(sorted(rep_names.get(k) or k for k in reps))
        found.setdefault(key, []).append(Reason(COACHING, reps=names))

    snoozed = worklist.snoozed(conn, viewer.slack_user_id, now)
    keys = [k for k in found if k not in snoozed]
    names_of = partners.partner_names(conn, keys)
    pipeline = open_pipeline(conn, p, keys)
    items = []
    for key in keys:
        reasons = tuple(sorted(found[key], key=lambda r: ORDER[r.kind]))
        days = max((r.days for r in reasons if r.days is not None), default=stuck_days)
        money = pipeline.get(key)
        bonus = min(float(money / PIPELINE_PER_DAY), PIPELINE_MAX_DAYS) if money else 0.0
        items.append(
            Item(
                partner_key=key,
                partner_name=names_of.get(key, key),
                reasons=reasons,
                action=SUGGESTED[reasons[0].kind],
                depth=at[key].depth if key in at else -1,
                pipeline=money,
                urgency=days + bonus,
            )
        )
    items.sort(key=lambda i: (-i.urgency, i.partner_name.casefold(), i.partner_key))
    return Worklist(items, stuck_days, activation_days)


def listing(conn: Connection, settings: Settings, now: datetime, viewer: Viewer) -> dict:
    """What todo.j2 lists for this viewer (`/prm todo`, App Home's and the scorecard's top):
    the first LIST_LIMIT items, how many more, and the thresholds."""
    found = build(
        conn,
        params_from_settings(settings, as_of=now),
        viewer,
        settings.worklist_stuck_days,
        settings.activation_days,
    )
    return {
        "view": "list",
        "worklist": listed(found.items),
        "stuck_days": found.stuck_days,
        "activation_days": found.activation_days,
    }


def authorise(conn: Connection, viewer: Viewer, partner_key: str) -> Outcome:
    """May this person act on this partner from a worklist, now? (A button's value is only
    a key: anyone could send any key.)"""
    if not may_use(viewer):
        return Outcome.NOT_MANAGER
    if not partner_key or not may_see_partner(conn, viewer, partner_key):
        return Outcome.NOT_IN_BOOK
    return Outcome.DONE


def act(
    conn: Connection,
    params: KpiParams,
    viewer: Viewer,
    partner_key: str,
    action: str,
    stuck_days: int,
    activation_days: int,
) -> tuple[Outcome, Item | None]:
    """Authorise a press and record it (inside the caller's transaction). The item is the
    partner as the list shows it now (None when it is no longer on the list)."""
    allowed = authorise(conn, viewer, partner_key)
    if allowed is not Outcome.DONE:
        return allowed, None
    if action == OPEN:
        return Outcome.DONE, None
    now = params.as_of
    listed = build(conn, params, viewer, stuck_days, activation_days, only=partner_key).items
    item = listed[0] if listed else None
    depth = item.depth if item else current_depth(conn, params, partner_key)
    reason = item.reasons[0].kind if item else "none"
    until = now + timedelta(days=SNOOZE_DAYS) if action == SNOOZE else None
    worklist.record(conn, viewer.slack_user_id, partner_key, action, reason, depth, now, until)
    return Outcome.DONE, item


def current_depth(conn: Connection, params: KpiParams, partner_key: str) -> int:
    p = replace(params, scope=Scope(partner_key=partner_key))
    a = at_steps(conn, p).get(partner_key)
    return a.depth if a else -1


def followup(
    conn: Connection, params: KpiParams, slack_user_id: str, days: int = 7
) -> dict[str, int]:
    """What came of this person's worklist actions in the `days` before as_of: how many
    partners they nudged / handed to CS, and how many of those reached a later journey
    step since (compared with the step recorded when they acted)."""
    now = params.as_of
    done = worklist.actions_between(conn, slack_user_id, now - timedelta(days=days), now)
    if not done:
        return {}
    keys = sorted({d.partner_key for d in done})
    depth = {k: current_depth(conn, params, k) for k in keys}  # a few partners a week
    out = {"nudged": 0, "nudged_moved": 0, "handed": 0, "handed_moved": 0}
    for d in done:
        kind = "nudged" if d.action == NUDGE else "handed"
        out[kind] += 1
        if depth.get(d.partner_key, -1) > d.depth:
            out[kind + "_moved"] += 1
    return out
