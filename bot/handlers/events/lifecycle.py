"""`app_uninstalled` and `tokens_revoked`: the bot was removed from a workspace.

Recorded on the team (`slack_team.removed_at`, with which event), its tokens forgotten
(slack-sdk's installation tables and this process's client cache): nothing is sent there
again, and nothing owed to it is retried in a loop — the outbox finds no client for the
team and marks each row failed (`no_installation`). Installing again (the OAuth install)
makes the team sendable once more. Slack retries events: recording twice changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.handlers.context import AppContext
from bot.store import teams

log = logging.getLogger(__name__)


def handle_app_uninstalled(ctx: AppContext, body: dict[str, Any]) -> None:
    _removed(ctx, body, teams.UNINSTALLED)


def handle_tokens_revoked(ctx: AppContext, event: dict[str, Any], body: dict[str, Any]) -> None:
    tokens = event.get("tokens") if isinstance(event.get("tokens"), dict) else {}
    if not (tokens or {}).get("bot"):
        return  # only user tokens (the bot uses none): nothing changes for sending
    _removed(ctx, body, teams.REVOKED)


def _removed(ctx: AppContext, body: dict[str, Any], reason: str) -> None:
    team_id = str(body.get("team_id") or "")
    if not team_id:
        return
    with ctx.engine.begin() as conn:
        first = teams.record_removed(conn, team_id, reason, ctx.clock())
        teams.delete_installation(conn, team_id)
    ctx.clients.forget(team_id)
    if first:
        log.warning(
            "%s: the bot was removed from workspace %s; sending there stops", reason, team_id
        )
