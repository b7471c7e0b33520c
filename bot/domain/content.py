"""The content catalogue as a rep sees it in `/prm content`: grouped by journey stage.

Pure data, no Slack. Each asset goes to the first stage (in `STAGES` order) that one of
its tags maps to, so an asset tagged `onboarding` and `sales` is onboarding material;
assets with no stage tag (or no tags) land in `more`. Assets without an http(s) URL are
left out: there is nothing to open. See docs/content.md.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, literal, select

from bot.core.events import ONBOARDING_TAG
from bot.store.tables import Asset, AssetTag, Event, PartnerUser
from bot.web.links import DOWNLOAD_EVENT, is_link_target, tracked_url

A = Asset.__table__
T = AssetTag.__table__
E = Event.__table__
U = PartnerUser.__table__

# Journey stages, in the order `/prm content` shows them: onboarding first.
STAGES: tuple[str, ...] = ("get_started", "sell", "promote", "learn", "more")
FALLBACK_STAGE = "more"
# Tag (normalised: lower case, `_` and spaces as `-`) → stage.
TAG_STAGES: dict[str, str] = {
    ONBOARDING_TAG: "get_started",
    "getting-started": "get_started",
    "welcome": "get_started",
    "sales": "sell",
    "case-study": "sell",
    "case-studies": "sell",
    "pricing": "sell",
    "battlecard": "sell",
    "proposal": "sell",
    "demo": "sell",
    "marketing": "promote",
    "co-marketing": "promote",
    "campaign": "promote",
    "webinar": "promote",
    "event": "promote",
    "social": "promote",
    "training": "learn",
    "certification": "learn",
    "tech": "learn",
    "technical": "learn",
    "security": "learn",
    "product": "learn",
    "how-to": "learn",
}


def normalize_tag(tag: str) -> str:
    return "-".join(tag.strip().lower().replace("_", " ").split())


def stage_of(tags: list[str] | tuple[str, ...]) -> str:
    """The asset's stage: the earliest stage any of its tags maps to, else `more`."""
    stages = {TAG_STAGES.get(normalize_tag(tag)) for tag in tags}
    return next((s for s in STAGES if s in stages), FALLBACK_STAGE)


def library(conn: Connection, rep_key: str | None) -> dict[str, Any]:
    """The catalogue grouped by stage, with each asset's `downloaded` flag for `rep_key`.

    ```
    {"rep_key": "acme-a" | None, "total": 12, "downloaded": 3,   # downloaded: None without a rep
     "groups": [{"stage": "get_started", "total": 4, "downloaded": 2,
                 "assets": [{"key", "title", "url", "tags": [...], "downloaded": True}]}]}
    ```

    Groups are in `STAGES` order, empty ones left out; assets by title, then key. One
    query: the rep's downloads are a grouped subquery joined to the catalogue. A rep key
    that is not in the store has downloaded nothing.
    """
    query = select(A.c.key, A.c.title, A.c.url, T.c.tag).outerjoin(T, T.c.asset_id == A.c.id)
    if rep_key is not None:
        mine = (
            select(E.c.object_key.label("key"))
            .join(U, and_(U.c.id == E.c.user_id, U.c.partner_id == E.c.partner_id))
            .where(U.c.key == rep_key, E.c.type == DOWNLOAD_EVENT)
            .group_by(E.c.object_key)
            .subquery()
        )
        query = query.add_columns((mine.c.key.is_not(None)).label("done")).outerjoin(
            mine, mine.c.key == A.c.key
        )
    else:
        query = query.add_columns(literal(False).label("done"))
    rows = conn.execute(query.order_by(A.c.key, T.c.tag)).all()

    assets: dict[str, dict[str, Any]] = {}
    for row in rows:
        if not is_link_target(row.url):
            continue
        asset = assets.get(row.key)
        if asset is None:
            asset = assets[row.key] = {
                "key": row.key,
                "title": (row.title or "").strip() or row.key,
                "url": row.url.strip(),
                "tags": [],
                "downloaded": bool(row.done) if rep_key is not None else None,
            }
        if row.tag is not None:
            asset["tags"].append(row.tag)

    by_stage: dict[str, list[dict[str, Any]]] = {stage: [] for stage in STAGES}
    for asset in assets.values():
        by_stage[stage_of(asset["tags"])].append(asset)
    groups = []
    for stage in STAGES:
        items = sorted(by_stage[stage], key=lambda a: (a["title"].casefold(), a["key"]))
        if items:
            groups.append(
                {
                    "stage": stage,
                    "total": len(items),
                    "downloaded": _count_done(items, rep_key),
                    "assets": items,
                }
            )
    every = list(assets.values())
    return {
        "rep_key": rep_key,
        "total": len(every),
        "downloaded": _count_done(every, rep_key),
        "groups": groups,
    }


def _count_done(items: list[dict[str, Any]], rep_key: str | None) -> int | None:
    return None if rep_key is None else sum(1 for a in items if a["downloaded"])


def tracked_assets(
    assets: list[dict[str, Any]], public_url: str, secret: str, rep_key: str
) -> list[dict[str, Any]]:
    """Copies of `assets` (dicts with `key`, `url`) whose `url` is the rep's tracked link.

    Also fits `bot.domain.nudges.facts.onboarding_assets` output; an asset without a URL keeps
    None. Raises ValueError if `secret` is empty (links are off).
    """
    return [
        {**a, "url": tracked_url(public_url, secret, rep_key, a["key"]) if a.get("url") else None}
        for a in assets
    ]


def with_tracked_urls(
    lib: dict[str, Any], public_url: str, secret: str, rep_key: str
) -> dict[str, Any]:
    """`lib` (from `library`) with every asset URL replaced by `rep_key`'s tracked link."""
    return {
        **lib,
        "groups": [
            {**g, "assets": tracked_assets(g["assets"], public_url, secret, rep_key)}
            for g in lib["groups"]
        ],
    }
