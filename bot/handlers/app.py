"""Builds the Bolt app: one client, one context, every listener registered in one place.

Single workspace: `SLACK_BOT_TOKEN` (+ `SLACK_SIGNING_SECRET` over HTTP). Several
workspaces: `SLACK_CLIENT_ID`/`SLACK_CLIENT_SECRET` turn on the OAuth install, whose
installations and states live in the same database (tables made by `prm db upgrade`);
partner install links map the installing workspace to a partner (bot.handlers.install).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine

from bot.core.settings import Settings
from bot.core.timeutil import parse_user_instant
from bot.domain.install_links import INSTALL_PATH
from bot.handlers import register_all
from bot.handlers.context import AppContext
from bot.handlers.install import STATE_LIFETIME, PartnerInstallFlow, StateCookie
from bot.slack.client import web_client
from bot.slack.ids import BOT_SCOPES

REDIRECT_PATH = "/slack/oauth_redirect"


class SlackConfigError(ValueError):
    """The Slack settings cannot start the app; the message says which to set."""


def settings_clock(settings: Settings) -> Callable[[], datetime]:
    """The real clock, or the instant in PRM_AS_OF (demos and acceptance runs)."""
    if settings.as_of.strip():
        frozen = parse_user_instant(settings.as_of, settings.tz)
        return lambda: frozen
    return lambda: datetime.now(UTC)


def build_app(
    settings: Settings,
    engine: Engine,
    clock: Callable[[], datetime] | None = None,
    *,
    socket_mode: bool = False,
) -> App:
    if not socket_mode and not settings.slack_signing_secret:
        raise SlackConfigError("set SLACK_SIGNING_SECRET (Basic Information → Signing Secret)")
    if socket_mode and not settings.slack_app_token:
        raise SlackConfigError("set SLACK_APP_TOKEN (an xapp- token with connections:write)")
    signing_secret = settings.slack_signing_secret or None
    # Socket Mode messages arrive over an authenticated WebSocket: nothing to sign.
    request_verification_enabled = not socket_mode
    clock = clock or settings_clock(settings)
    if settings.oauth_enabled:
        client = web_client(settings, token="")
        oauth = OAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(BOT_SCOPES),
            redirect_uri=settings.public_url.rstrip("/") + REDIRECT_PATH,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            # Straight to Slack's consent screen: the link is the "Add to Slack" button.
            install_page_rendering_enabled=False,
            installation_store=SQLAlchemyInstallationStore(
                client_id=settings.slack_client_id, engine=engine
            ),
            state_store=SQLAlchemyOAuthStateStore(
                expiration_seconds=int(STATE_LIFETIME.total_seconds()), engine=engine
            ),
        )
        oauth.state_utils = StateCookie(expiration_seconds=int(STATE_LIFETIME.total_seconds()))
        flow = PartnerInstallFlow(
            client=client,
            settings=oauth,
            engine=engine,
            secret=settings.secret_key,
            clock=clock,
        )
        app = App(
            client=client,
            oauth_flow=flow,
            signing_secret=signing_secret,
            request_verification_enabled=request_verification_enabled,
        )
    elif settings.slack_bot_token:
        app = App(
            client=web_client(settings),
            signing_secret=signing_secret,
            request_verification_enabled=request_verification_enabled,
        )
    else:
        raise SlackConfigError(
            "set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
            "(OAuth install)"
        )
    ctx = AppContext(settings=settings, engine=engine, clock=clock)
    register_all(app, ctx)
    return app
