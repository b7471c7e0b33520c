"""Row-level reads of the activity log per rep: when a rep first and last did each thing,
and which onboarding assets people download.

These are plain per-user aggregates over the event log with no cohort in them (who is in
scope is the KPI engine's question, see bot.kpi.rep_facts); the domain decides what the
times mean (a journey step done, a rule that holds).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, select

from bot.core import events
from bot.core.events import ONBOARDING_TAG
from bot.store.handles import asset_tags as T
from bot.store.handles import assets as A
from bot.store.handles import events as E
from bot.store.handles import reps as U

POPULAR_DAYS = 90  # how far back "the most downloaded" looks


@dataclass(frozen=True)
class Span:
    """Per event type, the first and the last time a rep did it."""

    first: dict[str, datetime]
    last: dict[str, datetime]


def rep_first_times(
    conn: Connection, rep_key: str, types: Collection[str], before: datetime
) -> dict[str, datetime]:
    """{event type: the rep's first event of that type before `before`}, for `types`."""
    rows = conn.execute(
        select(E.c.type, func.min(E.c.occurred_at))
        .join(U, U.c.id == E.c.user_id)
        .where(U.c.key == rep_key, E.c.type.in_(list(types)), E.c.occurred_at < before)
        .group_by(E.c.type)
    )
    return {type_: first for type_, first in rows}


def rep_spans(
    conn: Connection, before: datetime, types: Collection[str], user_ids: Collection[int]
) -> dict[int, Span]:
    """Per user id among `user_ids` who has any: first and last time of each of `types`
    before `before`. Only events carrying a user id count: a rep's own doing."""
    wanted = set(user_ids)
    spans: dict[int, Span] = {}
    for user_id, type_, lo, hi in conn.execute(
        select(E.c.user_id, E.c.type, func.min(E.c.occurred_at), func.max(E.c.occurred_at))
        .where(E.c.user_id.is_not(None), E.c.occurred_at < before, E.c.type.in_(list(types)))
        .group_by(E.c.user_id, E.c.type)
    ):
        if user_id in wanted:
            span = spans.setdefault(user_id, Span({}, {}))
            span.first[type_] = lo
            span.last[type_] = hi
    return spans


def onboarding_downloads(conn: Connection, before: datetime) -> dict[int | None, int]:
    """{user id: downloads of onboarding-tagged assets before `before`}."""
    rows = conn.execute(
        select(E.c.user_id, func.count())
        .join(A, A.c.key == E.c.object_key)
        .join(T, and_(T.c.asset_id == A.c.id, T.c.tag == ONBOARDING_TAG))
        .where(E.c.type == events.DOWNLOAD, E.c.occurred_at < before)
        .group_by(E.c.user_id)
    )
    return {user_id: int(n) for user_id, n in rows}


def popular_onboarding_assets(conn: Connection, now: datetime) -> list[dict[str, str | None]]:
    """Every onboarding-tagged asset, most downloaded in the POPULAR_DAYS before `now`
    first (then by key), as {"key", "title", "url"}; an untitled asset is titled by key."""
    popularity = (
        select(E.c.object_key.label("key"), func.count().label("n"))
        .where(
            E.c.type == events.DOWNLOAD,
            E.c.occurred_at >= now - timedelta(days=POPULAR_DAYS),
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
    return [{"key": r.key, "title": r.title or r.key, "url": r.url} for r in rows]
