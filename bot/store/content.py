"""The content catalogue and its downloads, as stored: assets with their tags, which of
them a rep has opened, and the `content.downloaded` event a followed link writes.

Only rows come out; which asset goes to which journey stage, and whether its URL may be
linked at all, are the domain's rules (bot.domain.content, bot.domain.links).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, literal, select

from bot.core.events import DOWNLOAD
from bot.store.event_log import append_event
from bot.store.handles import asset_tags, assets, events, reps


@dataclass(frozen=True)
class CatalogueRow:
    """One (asset, tag) pair; `tag` is None for an untagged asset. `downloaded`: whether
    the rep asked about has a download of it (False when no rep was asked about)."""

    key: str
    title: str | None
    url: str | None
    tag: str | None
    downloaded: bool


@dataclass(frozen=True)
class DownloadTarget:
    """A rep (with its partner) and the URL stored for an asset, which may not be a link."""

    user_id: int
    partner_id: int
    url: str | None


def catalogue(conn: Connection, rep_key: str | None) -> list[CatalogueRow]:
    """Every asset with each of its tags, ordered by asset key then tag; with `rep_key`,
    whether that rep downloaded it (one query: the rep's downloads are a grouped subquery
    joined to the catalogue; a rep key not in the store has downloaded nothing)."""
    query = select(assets.c.key, assets.c.title, assets.c.url, asset_tags.c.tag).outerjoin(
        asset_tags, asset_tags.c.asset_id == assets.c.id
    )
    if rep_key is not None:
        mine = (
            select(events.c.object_key.label("key"))
            .join(
                reps, and_(reps.c.id == events.c.user_id, reps.c.partner_id == events.c.partner_id)
            )
            .where(reps.c.key == rep_key, events.c.type == DOWNLOAD)
            .group_by(events.c.object_key)
            .subquery()
        )
        query = query.add_columns((mine.c.key.is_not(None)).label("done")).outerjoin(
            mine, mine.c.key == assets.c.key
        )
    else:
        query = query.add_columns(literal(False).label("done"))
    rows = conn.execute(query.order_by(assets.c.key, asset_tags.c.tag)).all()
    return [CatalogueRow(r.key, r.title, r.url, r.tag, bool(r.done)) for r in rows]


def download_target(conn: Connection, rep_key: str, asset_key: str) -> DownloadTarget | None:
    """The rep and the asset's stored URL; None when either key is unknown."""
    rep = conn.execute(select(reps.c.id, reps.c.partner_id).where(reps.c.key == rep_key)).first()
    if rep is None:
        return None
    found = conn.execute(select(assets.c.url).where(assets.c.key == asset_key)).first()
    if found is None:
        return None
    return DownloadTarget(user_id=rep.id, partner_id=rep.partner_id, url=found.url)


def record_download_event(
    conn: Connection, target: DownloadTarget, asset_key: str, now: datetime
) -> None:
    """One `content.downloaded` event for the rep and asset at `now` (every click counts:
    each gets a fresh event id)."""
    append_event(
        conn,
        event_id=f"click-{uuid.uuid4()}",
        type_=DOWNLOAD,
        occurred_at=now,
        partner_id=target.partner_id,
        user_id=target.user_id,
        object_key=asset_key,
    )
