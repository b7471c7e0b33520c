"""Slack Connect events about partner channels.

- `shared_channel_invite_accepted`: the invitation is accepted; the accepting team
  becomes the partner's; the rep with the invited address gets the Slack account; the
  person is a member of the channel (bot.domain.connect.accepted).
- `shared_channel_invite_declined`: the invitation is declined.
- `member_joined_channel`: someone joined a partner's channel.

(`app_uninstalled` / `tokens_revoked` are bot/handlers/events/lifecycle.py's.)

Slack retries events: every write is an idempotent upsert, so a replay changes nothing;
an event about a channel or an invitation the bot never made is ignored, quietly.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.domain import connect as rules
from bot.handlers.context import AppContext

log = logging.getLogger(__name__)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def _invite_parts(event: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    invite = _dict(event.get("invite"))
    channel = _dict(event.get("channel"))
    return _str(invite.get("id")), _str(channel.get("id")), _str(invite.get("recipient_email"))


def handle_invite_accepted(ctx: AppContext, event: dict[str, Any], body: dict[str, Any]) -> None:
    invite_id, channel_id, email = _invite_parts(event)
    person = _dict(event.get("accepting_user"))
    team = _str(person.get("team_id")) or _str(_dict(person.get("profile")).get("team"))
    with ctx.engine.begin() as conn:
        done = rules.accepted(
            conn,
            invite_id=invite_id,
            channel_id=channel_id,
            recipient_email=email,
            user_id=_str(person.get("id")),
            team_id=team,
            host_team_id=_str(body.get("team_id")),
            now=ctx.clock(),
        )
    log.info("invite %s accepted: %s", invite_id, "recorded" if done else "not ours, ignored")


def handle_invite_declined(ctx: AppContext, event: dict[str, Any]) -> None:
    invite_id, channel_id, email = _invite_parts(event)
    with ctx.engine.begin() as conn:
        done = rules.declined(
            conn, invite_id=invite_id, channel_id=channel_id, recipient_email=email,
            now=ctx.clock(),
        )  # fmt: skip
    log.info("invite %s declined: %s", invite_id, "recorded" if done else "not ours, ignored")


def handle_member_joined(ctx: AppContext, event: dict[str, Any]) -> None:
    channel = event.get("channel")
    channel_id = _str(channel) or _str(_dict(channel).get("id"))
    user = _str(event.get("user"))
    team = _str(event.get("user_team")) or _str(event.get("team"))
    with ctx.engine.begin() as conn:
        rules.joined(conn, channel_id, user, team, ctx.clock())
