"""`prm partners install-link KEY`: the link a partner's Slack admin opens to install the
bot in the partner's own workspace (docs/partners.md)."""

from __future__ import annotations

from datetime import UTC, timedelta

import typer

from bot.cli.common import engine, fail, settings


def install_link(
    key: str = typer.Argument(..., help="The partner's key."),
    days: int = typer.Option(7, "--days", min=1, max=90, help="How long the link works."),
) -> None:
    """Print a signed install link for the partner's own workspace (expires in --days)."""
    from bot.domain.install_links import install_url, make_token
    from bot.handlers.app import settings_clock
    from bot.store.partners import partner_names

    conf = settings()
    if not conf.secret_key:
        fail("set PRM_SECRET_KEY: install links are signed with it")
    if not conf.oauth_enabled:
        fail(
            "set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: a partner installs the bot "
            "through the OAuth install of `prm serve`"
        )
    with engine().connect() as conn:
        name = partner_names(conn, [key]).get(key)
    if name is None:
        fail(f"no partner with key {key!r}")
    # The server checks the expiry on its own clock (PRM_AS_OF freezes both alike).
    expires = settings_clock(conf)().astimezone(UTC) + timedelta(days=days)
    url = install_url(conf.public_url, make_token(conf.secret_key, key, expires))
    typer.echo(url)
    typer.echo(
        f"Send this link to {name}'s Slack admin. Installing from it links their workspace "
        f"to {name}; it works until {expires:%Y-%m-%d %H:%M} UTC.",
        err=True,
    )
