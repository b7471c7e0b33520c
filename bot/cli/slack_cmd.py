"""`prm slack …`: the Slack side without Slack — what a person would be answered, and the
app manifest for this deployment."""

from __future__ import annotations

import json

import typer
import yaml

from bot.cli.common import engine, fail, settings
from bot.core.resources import MANIFEST

app = typer.Typer(help="See the bot's Slack answers without Slack; print the app manifest.")

PLACEHOLDER = "https://prm.example.com"


@app.command("ask")
def ask(
    user: str = typer.Argument(..., help="The asker's Slack user id, e.g. U0MGR001."),
    text: str = typer.Argument("kpi", help="What follows /prm, e.g. 'kpi deals 2026-Q3'."),
    locale: str | None = typer.Option(
        None, "--locale", help="en or ja; default: the stored locale, else PRM_DEFAULT_LOCALE."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the Block Kit payload."),
) -> None:
    """Answer `/prm TEXT` as the bot would answer USER (same access rules, same figures)."""
    from bot.domain.access import resolve_viewer
    from bot.domain.questions import ParseError, parse
    from bot.handlers.app import settings_clock
    from bot.slack.blocks import to_plain
    from bot.slack.messages import LOCALES, pick_locale, render_message
    from bot.slack.replies import command_reply

    conf = settings()
    if locale is not None and locale not in LOCALES:
        fail(f"--locale must be one of {', '.join(LOCALES)}")
    eng = engine()
    with eng.connect() as conn:
        viewer = resolve_viewer(conn, user, conf.admins)
        chosen = locale or pick_locale(
            viewer.rep.locale if viewer.rep else None, None, conf.default_locale
        )
        try:
            question = parse(text, conf.tz)
        except ParseError as exc:
            reply = render_message("bad_argument", chosen, code=exc.code, word=exc.word)
        else:
            reply = command_reply(conn, conf, settings_clock(conf)(), viewer, question, chosen)
    if as_json:
        payload = {"response_type": "ephemeral", "text": reply.text, "blocks": reply.blocks}
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    typer.echo(f"[{viewer.role.value}, {chosen}]")
    typer.echo(to_plain(reply.blocks))


@app.command("manifest")
def manifest(
    public_url: str | None = typer.Option(None, "--public-url", help="Default: PRM_PUBLIC_URL."),
    socket: bool = typer.Option(False, "--socket", help="Socket Mode instead of HTTP."),
) -> None:
    """Print manifest.yml ready to paste into https://api.slack.com/apps."""
    base = (public_url or settings().public_url).rstrip("/")
    if not base.startswith("https://") and not socket:
        fail(f"Slack only posts to https:// URLs; {base!r} will not work (or use --socket)")
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    data["settings"]["socket_mode_enabled"] = socket
    rendered = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    typer.echo(rendered.replace(PLACEHOLDER, base), nl=False)
