"""The `tier_decision` table's one owner, and the partner tier it changes.

`decide` is the whole of a Promote / Keep press in one transaction: the decision row
(unique per partner, assigned tier, qualifying tier and week: a replay inserts nothing),
then for a Promote the tier itself, compare-and-set on the tier the scorecard showed
(a tier someone changed meanwhile is left alone), and the `tier.changed` event.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection, select, update

from bot.core.events import TIER_CHANGED
from bot.store.engine import insert_ignore, table_of
from bot.store.event_log import append_event
from bot.store.handles import partners as P
from bot.store.tables import TierDecision

T = table_of(TierDecision)
PROMOTE, KEEP = "promote", "keep"
# What a press came to: done, done before (a replay, or the other button), or stale.
DONE, ALREADY, STALE, UNKNOWN = "done", "already", "stale", "unknown"


def decide(
    conn: Connection,
    *,
    partner_key: str,
    from_tier: str,
    to_tier: str,
    week: str,
    decision: str,
    user: str,
    now: datetime,
) -> str:
    partner = conn.execute(select(P.c.id, P.c.tier).where(P.c.key == partner_key)).first()
    if partner is None:
        return UNKNOWN
    inserted = conn.execute(
        insert_ignore(conn, T, ["partner_id", "from_tier", "to_tier", "week"]).values(
            partner_id=partner.id,
            from_tier=from_tier,
            to_tier=to_tier,
            week=week,
            decision=decision,
            slack_user_id=user,
            decided_at=now,
        )
    ).rowcount
    if not inserted:
        return ALREADY
    if decision == KEEP:
        return DONE
    changed = conn.execute(
        update(P).where(P.c.id == partner.id, P.c.tier == from_tier).values(tier=to_tier)
    ).rowcount
    if not changed:
        return STALE
    digest = hashlib.sha256(f"{partner_key}\0{from_tier}\0{to_tier}\0{week}".encode()).hexdigest()
    append_event(
        conn,
        event_id=f"tier:{digest[:40]}",
        type_=TIER_CHANGED,
        occurred_at=now,
        partner_id=partner.id,
        user_id=None,
        object_key=to_tier,
    )
    return DONE


def kept(conn: Connection, partner_keys: list[str]) -> set[tuple[str, str, str]]:
    """(partner, assigned, qualifying) pairs a manager chose to keep: not asked again
    while the partner still qualifies for that same tier."""
    if not partner_keys:
        return set()
    rows = conn.execute(
        select(P.c.key, T.c.from_tier, T.c.to_tier)
        .join(P, P.c.id == T.c.partner_id)
        .where(T.c.decision == KEEP, P.c.key.in_(partner_keys))
    )
    return {(r.key, r.from_tier, r.to_tier) for r in rows}


def manager_of(conn: Connection, partner_key: str) -> str | None:
    return conn.execute(select(P.c.manager_slack_id).where(P.c.key == partner_key)).scalar()
