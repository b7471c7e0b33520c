"""`prm partners …`: reaching a partner's people in Slack (docs/partners.md).

`connect` gives a partner its channel over Slack Connect and invites its people by email.
(Room here for the other ways of reaching them, such as a partner's own install link.)
"""

from __future__ import annotations

import typer
from rich.console import Console

from bot.cli.common import engine, fail, settings

app = typer.Typer(help="Partner channels over Slack Connect: reach a partner's people in Slack.")

out = Console(highlight=False, soft_wrap=True)


@app.command("connect")
def connect(
    key: str = typer.Argument(..., help="The partner's key."),
    email: list[str] = typer.Option(
        [], "--email", help="An address to invite over Slack Connect (repeat for more)."
    ),
    limited: bool = typer.Option(
        False, "--limited", help="External limited access: they may post, not invite others."
    ),
    public: bool = typer.Option(False, "--public", help="Create a public channel (else private)."),
    channel: str | None = typer.Option(
        None, "--channel", help="Adopt this existing channel (its id, C…) instead of creating one."
    ),
) -> None:
    """Create (once) the partner's channel #prm-KEY, post a welcome, invite each address once.

    Run again, it invites only addresses it has not invited (or whose invitation failed).
    Exit 0 when everything asked for is done or was done before, 1 otherwise.
    """
    from bot.core.timeutil import wall_clock
    from bot.domain.connect import line
    from bot.handlers.app import settings_clock
    from bot.slack.client import Clients
    from bot.slack.connect import UnknownPartner
    from bot.slack.connect import connect as run_connect

    conf = settings()
    if not conf.slack_bot_token and not conf.oauth_enabled:
        fail(
            "set SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET with the vendor's "
            "installation) to reach Slack",
            code=1,
        )
    eng = engine()
    try:
        client = Clients(conf, eng).vendor()
    except Exception as exc:  # the installation store unreadable
        fail(f"cannot look up the vendor's Slack installation: {type(exc).__name__}", code=1)
    try:
        result = run_connect(
            eng,
            client,
            key,
            email,
            limited=limited,
            public=public,
            channel=channel,
            now=settings_clock(conf)(),
            wall=wall_clock(),
        )
    except UnknownPartner:
        fail(f"unknown partner {key!r} (partners are named by their key)", code=1)
    for item in result.lines:
        out.print(line(item), markup=False)
    out.print(result.summary(), markup=False)
    raise typer.Exit(0 if result.ok else 1)
