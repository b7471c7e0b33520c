"""`prm serve`: the Slack app over HTTP (uvicorn), or over Socket Mode with `--socket`."""

from __future__ import annotations

import logging

import typer
from slack_bolt.error import BoltError

from bot.cli.common import engine, fail, settings


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(3000, "--port", min=1, max=65535, help="TCP port."),
    socket: bool = typer.Option(
        False, "--socket", help="Socket Mode (needs SLACK_APP_TOKEN): no public URL needed."
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning, error."),
) -> None:
    """Run the Slack app: POST /slack/events and GET /healthz, or Socket Mode."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Imported here: `prm kpi` and friends should not pay for Slack's and uvicorn's imports.
    from bot.app import SlackConfigError, build_app

    conf = settings()
    eng = engine()
    try:
        bolt = build_app(conf, eng, socket_mode=socket)
    except SlackConfigError as exc:
        fail(str(exc))
    except BoltError as exc:  # auth.test refused the token, or Slack was unreachable
        fail(f"Slack refused to start the app: {exc}")

    if socket:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from bot.slack_client import web_client

        handler = SocketModeHandler(
            bolt, conf.slack_app_token, web_client=web_client(conf, token="")
        )
        typer.echo("prm: connecting to Slack over Socket Mode …", err=True)
        handler.start()
        return

    import uvicorn

    from bot.web import create_web_app

    typer.echo(f"prm: listening on http://{host}:{port} (POST /slack/events)", err=True)
    uvicorn.run(
        create_web_app(bolt, eng),
        host=host,
        port=port,
        log_level=log_level.lower(),
        proxy_headers=True,
    )
