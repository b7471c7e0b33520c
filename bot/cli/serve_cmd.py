"""`prm serve`: the Slack app over HTTP (uvicorn), or over Socket Mode with `--socket`."""

from __future__ import annotations

import contextlib
import logging
import threading

import typer

from bot.cli.common import engine, fail, settings
from bot.core.logs import add_secrets


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
    # Slack and the web stack load here, not when `prm` starts: other commands need none.
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from bot.handlers.app import SlackConfigError, build_app

    conf = settings()
    # The configured secrets themselves are hidden in any log line too (bot/logs.py), on
    # top of the patterns every prm command redacts.
    add_secrets(_secret_settings(conf))
    eng = engine()
    try:
        bolt = build_app(conf, eng, socket_mode=socket)
    except SlackConfigError as exc:
        fail(str(exc))
    except BoltError as exc:  # auth.test refused the token, or Slack was unreachable
        fail(f"Slack refused to start the app: {exc}")

    # Bolt logs the whole body of a rejected request at INFO, response_url included: that
    # URL lets anyone answer the user, so keep it out of the logs. (Set after build_app:
    # Bolt sets its loggers' levels when it builds the app.)
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
    _start_scheduler(conf, eng)
    _start_outbox(conf, eng)

    if socket:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from bot.slack.client import web_client

        handler = SocketModeHandler(
            bolt, conf.slack_app_token, web_client=web_client(conf, token="")
        )
        typer.echo("prm: connecting to Slack over Socket Mode …", err=True)
        try:
            handler.connect()
        except SlackApiError as exc:
            fail(f"Slack refused the app token: {exc.response.get('error')}")
        except OSError as exc:
            fail(f"cannot reach Slack for Socket Mode: {type(exc).__name__}: {exc}")
        from slack_bolt.util.utils import get_boot_message

        typer.echo(get_boot_message(), err=True)
        threading.Event().wait()  # serve until interrupted
        return

    import uvicorn

    from bot.web.asgi import create_web_app

    typer.echo(f"prm: listening on http://{host}:{port} (POST /slack/events)", err=True)
    uvicorn.run(
        create_web_app(bolt, eng, conf),
        host=host,
        port=port,
        log_level=log_level.lower(),
        proxy_headers=True,
    )


def _secret_settings(conf) -> list[str]:
    from sqlalchemy.engine import make_url

    from bot.store.engine import normalize_url

    values = [
        conf.slack_bot_token,
        conf.slack_signing_secret,
        conf.slack_app_token,
        conf.slack_client_secret,
        conf.api_token,
        conf.secret_key,
    ]
    with contextlib.suppress(Exception):  # an unparseable URL fails later, with its message
        values.append(make_url(normalize_url(conf.database_url)).password or "")
    return [str(v) for v in values if v]


def _start_outbox(conf, eng) -> None:
    """The retry worker runs in every server, scheduler or not: the messages a person's
    click or form owed (receipts, cards, notices) are retried here until Slack takes
    them. Several servers may each run one; the ledger lets one of them send each row."""
    from bot.handlers.app import settings_clock
    from bot.slack.client import Clients
    from bot.slack.outbox import RetryWorker

    RetryWorker(
        eng, Clients(conf, eng), settings_clock(conf), interval=conf.outbox_poll_seconds
    ).start()
    logging.getLogger("bot.cli.serve").info(
        "outbox: retrying owed messages every %.0f s", conf.outbox_poll_seconds
    )


def _start_scheduler(conf, eng) -> None:
    """The jobs run inside the server unless PRM_SCHEDULER_ENABLED=false (then run
    `prm scheduler` elsewhere, or nothing). They send with SLACK_BOT_TOKEN, or with each
    OAuth installation's own token."""
    log = logging.getLogger("bot.cli.serve")
    if not conf.scheduler_enabled:
        log.info("scheduler disabled (PRM_SCHEDULER_ENABLED=false)")
        return
    if not conf.slack_bot_token and not conf.oauth_enabled:
        log.warning("scheduler off: the jobs need SLACK_BOT_TOKEN or an OAuth install to send")
        return
    from bot.handlers.app import settings_clock
    from bot.jobs.registry import demo_refusal
    from bot.jobs.scheduler import build_scheduler, catch_up
    from bot.slack.client import Clients

    if (refusal := demo_refusal(conf, eng)) is not None:
        log.warning("scheduler off: %s", refusal)
        return
    clock = settings_clock(conf)
    client = Clients(conf, eng)
    build_scheduler(conf, eng, client, clock).start()
    catch_up(conf, eng, client, clock)
