"""Per-rep facts for the next-action rules, aggregated in SQL (never event by event)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, select

from bot.core import events
from bot.core.events import ACTIVITY_TYPES, ONBOARDING_TAG
from bot.domain.nudges.rules import RepFacts
from bot.kpi.params import KpiParams
from bot.kpi.sql import E, P, U, cohort_where, registered_before
from bot.store.tables import Asset, AssetTag, Delivery

A = Asset.__table__
T = AssetTag.__table__
D = Delivery.__table__
NUDGE_JOB = "next-actions"


@dataclass(frozen=True)
class Rep:
    user_id: int
    key: str
    name: str
    slack_user_id: str | None
    locale: str | None
    tips_off: bool
    partner_id: int
    partner_key: str
    partner_name: str
    partner_channel: str | None


@dataclass(frozen=True)
class PastNudge:
    at: datetime
    status: str  # sent or holdout
    target: str | None


def reps(conn: Connection, params: KpiParams) -> list[Rep]:
    """Every registered user of a signed partner in scope, as of params.as_of."""
    rows = conn.execute(
        select(
            U.c.id,
            U.c.key,
            U.c.name,
            U.c.slack_user_id,
            U.c.locale,
            U.c.tips_off_at,
            P.c.id.label("pid"),
            P.c.key.label("pkey"),
            P.c.name.label("pname"),
            P.c.slack_channel_id,
        )
        .join(P, P.c.id == U.c.partner_id)
        .where(cohort_where(params), registered_before(params.as_of, params))
        .order_by(U.c.key)
    )
    return [
        Rep(
            r.id,
            r.key,
            r.name or r.key,
            r.slack_user_id,
            r.locale,
            r.tips_off_at is not None,
            r.pid,
            r.pkey,
            r.pname,
            r.slack_channel_id,
        )
        for r in rows
    ]


def facts(conn: Connection, now: datetime, user_ids: set[int]) -> dict[int, RepFacts]:
    """First and last time of each event type per rep, plus onboarding downloads."""
    first: dict[int, dict[str, datetime]] = {}
    last: dict[int, dict[str, datetime]] = {}
    for user_id, type_, lo, hi in conn.execute(
        select(E.c.user_id, E.c.type, func.min(E.c.occurred_at), func.max(E.c.occurred_at))
        # Only the rep's own activity: a manager's decision on their deal is not theirs.
        .where(E.c.user_id.is_not(None), E.c.occurred_at < now, E.c.type.in_(ACTIVITY_TYPES))
        .group_by(E.c.user_id, E.c.type)
    ):
        if user_id in user_ids:
            first.setdefault(user_id, {})[type_] = lo
            last.setdefault(user_id, {})[type_] = hi
    onboarding = dict(
        conn.execute(
            select(E.c.user_id, func.count())
            .join(A, A.c.key == E.c.object_key)
            .join(T, and_(T.c.asset_id == A.c.id, T.c.tag == ONBOARDING_TAG))
            .where(E.c.type == events.DOWNLOAD, E.c.occurred_at < now)
            .group_by(E.c.user_id)
        ).all()
    )
    return {
        uid: RepFacts(
            user_id=uid,
            key="",
            first=first.get(uid, {}),
            last=last.get(uid, {}),
            last_active=max(last[uid].values()) if uid in last else None,
            onboarding_downloads=int(onboarding.get(uid, 0)),
        )
        for uid in user_ids
    }


def past_nudges(conn: Connection, now: datetime) -> dict[int, list[PastNudge]]:
    """Every rep's nudges (sent, or held out), newest first."""
    history: dict[int, list[PastNudge]] = {}
    for user_id, at, status, target in conn.execute(
        select(D.c.user_id, D.c.created_at, D.c.status, D.c.target)
        .where(
            D.c.job == NUDGE_JOB,
            D.c.kind == "nudge",
            D.c.status.in_(("sent", "holdout", "pending")),
            D.c.created_at < now,
        )
        .order_by(D.c.user_id, D.c.created_at.desc())
    ):
        history.setdefault(user_id, []).append(PastNudge(at, status, target))
    return history


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
    popularity = (
        select(E.c.object_key.label("key"), func.count().label("n"))
        .where(
            E.c.type == events.DOWNLOAD,
            E.c.occurred_at >= now - timedelta(days=90),
            E.c.occurred_at < now,
        )
        .group_by(E.c.object_key)
        .subquery()
    )
    rows = conn.execute(
        select(A.c.key, A.c.title, A.c.url, func.coalesce(popularity.c.n, 0).label("n"))
        .join(T, and_(T.c.asset_id == A.c.id, T.c.tag == ONBOARDING_TAG))
        .outerjoin(popularity, popularity.c.key == A.c.key)
        .order_by(func.coalesce(popularity.c.n, 0).desc(), A.c.key)
    ).all()
    return [{"key": r.key, "title": r.title or r.key, "url": r.url} for r in rows[: max(n, 0)]]
