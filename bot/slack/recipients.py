"""Slack facts about a recipient, asked once and kept in `slack_recipient`: the DM
channel (conversations.open once, then reuse its id), time zone and locale.

This is the Slack side (when to ask Slack, batching what a run learnt); the rows
themselves are bot.store.recipients'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.store import recipients as stored

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


def known(engine: Engine, slack_user_ids: list[str]) -> dict[str, dict]:
    """Everything stored about these users, in one query (jobs fan out to thousands)."""
    return stored.known(engine, slack_user_ids)


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
        stored.save(engine, slack_user_id, tz=result.tz, locale=result.locale, profile_at=now)
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
        stored.save(engine, slack_user_id, dm_channel_id=channel)
    return channel


BATCH = 500


def flush_if_big(engine: Engine, writes: RecipientWrites) -> None:
    if len(writes) >= BATCH:
        flush(engine, writes)


def flush(engine: Engine, writes: RecipientWrites) -> None:
    """Write what the run learnt: two multi-row upserts, one transaction."""
    if not len(writes):
        return
    stored.save_many(engine, writes.profiles, writes.channels)
    writes.profiles.clear()
    writes.channels.clear()
