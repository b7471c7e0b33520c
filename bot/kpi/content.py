"""KPI 2, `content`: is the onboarding material used? Downloads in the period, per asset.

Catalogue assets with no download are listed too: they are the content to fix or retire.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, literal, select

from bot.core.events import DOWNLOAD, ONBOARDING_TAG
from bot.kpi.params import KpiParams
from bot.kpi.sql import E, P, cohort_size, cohort_where, in_period, rate
from bot.store import handles

A = handles.assets
T = handles.asset_tags


def content(conn: Connection, params: KpiParams) -> dict[str, Any]:
    downloads_in_period = (
        select(E.c.object_key, E.c.user_id, E.c.partner_id)
        .join(P, P.c.id == E.c.partner_id)
        .where(E.c.type == DOWNLOAD, in_period(params), cohort_where(params))
        .subquery("d")
    )
    d = downloads_in_period.c
    total, users, partners = conn.execute(
        select(func.count(), func.count(d.user_id.distinct()), func.count(d.partner_id.distinct()))
    ).one()

    per_asset = (
        select(
            d.object_key,
            func.count().label("downloads"),
            func.count(d.user_id.distinct()).label("unique_users"),
        )
        .group_by(d.object_key)
        .subquery("per_asset")
    )
    rows = conn.execute(
        select(
            A.c.key,
            func.coalesce(per_asset.c.downloads, 0),
            func.coalesce(per_asset.c.unique_users, 0),
        ).select_from(A.outerjoin(per_asset, per_asset.c.object_key == A.c.key))
    ).all()
    # Sorted here, not in SQL: key order must not depend on the database's collation.
    assets = sorted(((k, int(n), int(u)) for k, n, u in rows), key=lambda a: (-a[1], a[0]))

    onboarding_keys = (
        select(A.c.key).join(T, T.c.asset_id == A.c.id).where(T.c.tag == ONBOARDING_TAG)
    )
    # A LIMIT 1 probe per partner on (partner, type, time, object). Written as a scalar
    # subquery because PostgreSQL would turn EXISTS into a semi-join scanning every download.
    first_onboarding_download = (
        select(literal(1))
        .where(
            E.c.partner_id == P.c.id,
            E.c.type == DOWNLOAD,
            E.c.occurred_at < params.as_of,
            E.c.object_key.in_(onboarding_keys),
        )
        .limit(1)
        .scalar_subquery()
    )
    reached_onboarding = conn.execute(
        select(func.count())
        .select_from(P)
        .where(cohort_where(params), first_onboarding_download.is_not(None))
    ).scalar_one()

    return {
        "downloads": int(total),
        "unique_users": int(users),
        "unique_partners": int(partners),
        "onboarding_reach": rate(int(reached_onboarding), cohort_size(conn, params)),
        "assets": [{"key": key, "downloads": n, "unique_users": u} for key, n, u in assets],
        "never_downloaded": sorted(key for key, n, _ in assets if n == 0),
    }
