"""Slack facts about a recipient, asked once and kept in `slack_recipient`: the DM
channel (conversations.open once, then reuse its id), time zone and locale."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.store.tables import SlackRecipient

S = SlackRecipient.__table__
PROFILE_TTL = timedelta(days=7)


@dataclass
class RecipientWrites:
    """What a run learnt about Slack users (DM channels, time zones), written in batches:
    it is a cache, so losing some to a crash costs a lookup, never a message."""

    channels: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, dict] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.channels) + len(self.profiles)


@dataclass(frozen=True)
class Profile:
    tz: str | None
    locale: str | None


def _upsert(engine: Engine, slack_user_id: str, **values: object) -> None:
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(S).values(slack_user_id=slack_user_id, **values)
    stmt = stmt.on_conflict_do_update(index_elements=[S.c.slack_user_id], set_=values)
    with engine.begin() as conn:
        conn.execute(stmt)


def known(engine: Engine, slack_user_ids: list[str]) -> dict[str, dict]:
    """Everything stored about these users, in one query (jobs fan out to thousands)."""
    found: dict[str, dict] = {}
    with engine.connect() as conn:
        for i in range(0, len(slack_user_ids), 1000):
            chunk = slack_user_ids[i : i + 1000]
            for row in conn.execute(select(S).where(S.c.slack_user_id.in_(chunk))):
                found[row.slack_user_id] = dict(row._mapping)
    return found


def profile(
    engine: Engine,
    client: WebClient,
    slack_user_id: str,
    now: datetime,
    cached: dict | None,
    store: bool = True,
    writes: RecipientWrites | None = None,
) -> Profile:
    """Time zone and locale from users.info, refreshed weekly (not stored in a dry run;
    with `writes`, kept for the run's next batch write)."""
    if cached and cached.get("profile_at") and now - cached["profile_at"] < PROFILE_TTL:
        return Profile(cached.get("tz"), cached.get("locale"))
    response = client.users_info(user=slack_user_id, include_locale=True)
    user = response.get("user") or {}
    result = Profile(user.get("tz"), user.get("locale"))
    if store and writes is not None:
        writes.profiles[slack_user_id] = {
            "tz": result.tz,
            "locale": result.locale,
            "profile_at": now,
        }
        flush_if_big(engine, writes)
    elif store:
        _upsert(engine, slack_user_id, tz=result.tz, locale=result.locale, profile_at=now)
    return result


def dm_channel(
    engine: Engine,
    client: WebClient,
    slack_user_id: str,
    cached: dict | None,
    writes: RecipientWrites | None = None,
) -> str:
    """Open the DM once and keep its id (in `writes` for a job's batch, else at once)."""
    if cached and cached.get("dm_channel_id"):
        return str(cached["dm_channel_id"])
    if writes is not None and slack_user_id in writes.channels:
        return writes.channels[slack_user_id]
    channel = str(client.conversations_open(users=slack_user_id)["channel"]["id"])
    if writes is not None:
        writes.channels[slack_user_id] = channel
        flush_if_big(engine, writes)
    else:
        _upsert(engine, slack_user_id, dm_channel_id=channel)
    return channel


BATCH = 500


def flush_if_big(engine: Engine, writes: RecipientWrites) -> None:
    if len(writes) >= BATCH:
        flush(engine, writes)


def flush(engine: Engine, writes: RecipientWrites) -> None:
    """Write what the run learnt: two multi-row upserts, one transaction."""
    if not len(writes):
        return
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    with engine.begin() as conn:
        if writes.profiles:
            rows = [{"slack_user_id": u, **v} for u, v in writes.profiles.items()]
            stmt = insert(S).values(rows)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[S.c.slack_user_id],
                    set_={c: stmt.excluded[c] for c in ("tz", "locale", "profile_at")},
                )
            )
        if writes.channels:
            rows = [{"slack_user_id": u, "dm_channel_id": c} for u, c in writes.channels.items()]
            stmt = insert(S).values(rows)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[S.c.slack_user_id],
                    set_={"dm_channel_id": stmt.excluded.dm_channel_id},
                )
            )
    writes.profiles.clear()
    writes.channels.clear()
