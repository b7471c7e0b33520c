"""Events API listeners."""

from __future__ import annotations

from functools import partial

from slack_bolt import App

from bot.handlers.context import AppContext
from bot.handlers.errors import guarded
from bot.handlers.events.dm import handle_direct_message
from bot.handlers.events.home import handle_app_home_opened
from bot.handlers.events.lifecycle import handle_app_uninstalled, handle_tokens_revoked
from bot.handlers.events.shared_channels import (
    handle_invite_accepted,
    handle_invite_declined,
    handle_member_joined,
)


def register(app: App, ctx: AppContext) -> None:
    app.event("app_home_opened")(guarded(ctx, partial(handle_app_home_opened, ctx)))
    # message.im: a DM to the bot gets a pointer to /prm help (bot/handlers/events/dm.py).
    app.event("message")(guarded(ctx, partial(handle_direct_message, ctx)))
    # Partner channels over Slack Connect (docs/partners.md).
    app.event("shared_channel_invite_accepted")(guarded(ctx, partial(handle_invite_accepted, ctx)))
    app.event("shared_channel_invite_declined")(guarded(ctx, partial(handle_invite_declined, ctx)))
    app.event("member_joined_channel")(guarded(ctx, partial(handle_member_joined, ctx)))
    # The bot removed from a workspace: stop sending there (bot/handlers/events/lifecycle.py).
    app.event("app_uninstalled")(guarded(ctx, partial(handle_app_uninstalled, ctx)))
    app.event("tokens_revoked")(guarded(ctx, partial(handle_tokens_revoked, ctx)))
