"""`app_home_opened`: publish the dashboard for the viewer's role."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.handlers.context import AppContext, Teams, teams_of
from bot.kpi.periods import Period
from bot.slack import replies
from bot.slack.client import slack_error
from bot.store.engine import unavailable

log = logging.getLogger(__name__)


def handle_app_home_opened(
    ctx: AppContext, event: dict[str, Any], body: dict[str, Any], client: WebClient
) -> None:
    if event.get("tab", "home") != "home":
        return  # the Messages tab: nothing to publish
    publish_home(ctx, client, event["user"], teams=teams_of(body))


def publish_home(
    ctx: AppContext,
    client: WebClient,
    user_id: str,
    period: Period | None = None,
    *,
    teams: Teams = (None, None),
) -> None:
    try:
        viewer, locale = ctx.who(client, user_id, teams)
        with ctx.engine.connect() as conn:
            view = replies.home_view(conn, ctx.settings, ctx.clock(), viewer, locale, period)
    except Exception as exc:
        if not unavailable(exc):
            raise
        log.warning("App Home for %s: database unavailable (%s)", user_id, type(exc).__name__)
        view = replies.unavailable_home(ctx.locales.locale_for(client, user_id, None))
    try:
        client.views_publish(user_id=user_id, view=view)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.error("views.publish for %s failed: %s", user_id, slack_error(exc))
