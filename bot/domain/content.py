"""The content catalogue as a rep sees it in `/prm content`: grouped by journey stage.

Pure data, no Slack. Each asset goes to the first stage (in `STAGES` order) that one of
its tags maps to, so an asset tagged `onboarding` and `sales` is onboarding material;
assets with no stage tag (or no tags) land in `more`. Assets without an http(s) URL are
left out: there is nothing to open. See docs/content.md.

Following a tracked link is here too (`resolve_download`, `record_download`): whether the
link leads anywhere is a content rule; the web route only answers the request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from bot.core.events import ONBOARDING_TAG
from bot.domain.links import is_link_target, tracked_url
from bot.store import content as store

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
    assets: dict[str, dict[str, Any]] = {}
    for row in store.catalogue(conn, rep_key):
        if not is_link_target(row.url):
            continue
        asset = assets.get(row.key)
        if asset is None:
            asset = assets[row.key] = {
                "key": row.key,
                "title": (row.title or "").strip() or row.key,
                "url": row.url.strip(),
                "tags": [],
                "downloaded": row.downloaded if rep_key is not None else None,
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


def _strip(url: str | None) -> str:
    return (url or "").strip()


def _link_target(conn: Connection, rep_key: str, asset_key: str) -> store.DownloadTarget | None:
    """Who follows the link and where it leads: known rep, known asset with an http(s)
    URL; None otherwise."""
    target = store.download_target(conn, rep_key, asset_key)
    if target is None or not is_link_target(target.url):
        return None
    return target


def resolve_download(engine: Engine, rep_key: str, asset_key: str) -> str | None:
    """The asset's URL if the link would work (known rep, known asset with a URL); no write."""
    with engine.connect() as conn:
        target = _link_target(conn, rep_key, asset_key)
    return _strip(target.url) if target else None


def record_download(engine: Engine, rep_key: str, asset_key: str, now: datetime) -> str | None:
    """Record one `content.downloaded` for the rep and asset at `now`; the asset's URL.

    Unknown rep, unknown asset, or an asset without an http(s) URL: None, nothing written.
    One transaction; the `partner_first_event` rollup is kept by the database's trigger.
    """
    with engine.begin() as conn:
        target = _link_target(conn, rep_key, asset_key)
        if target is None:
            return None
        store.record_download_event(conn, target, asset_key, now)
    return _strip(target.url)
