"""`prm slack …`: the Slack side without Slack — what a person would be answered, and the
app manifest for this deployment."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer
import yaml

from bot.cli.common import engine, fail, settings
from bot.core.resources import MANIFEST

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.core.settings import Settings
    from bot.domain.access import Viewer

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
    """Answer `/prm TEXT` as the bot would answer USER (same access rules, same figures,
    the same side effects: `tips on|off` is stored). A form (`register`) prints the modal
    Slack would open; with --json, `{"view": …}` as views.open gets it."""
    from bot.handlers.app import settings_clock
    from bot.slack.dispatch import Modal, dispatch
    from bot.slack.locale import LOCALES

    conf = settings()
    if locale is not None and locale not in LOCALES:
        fail(f"--locale must be one of {', '.join(LOCALES)}")
    eng, viewer, chosen = _asker(conf, user, locale)
    reply = dispatch(eng, conf, settings_clock(conf)(), viewer, text, chosen)
    role = viewer.role.value if viewer is not None else "unknown"
    if isinstance(reply, Modal):
        if as_json:
            typer.echo(json.dumps({"view": reply.view}, ensure_ascii=False, indent=2))
            return
        typer.echo(f"[{role}, {chosen}, modal]")
        typer.echo(modal_to_plain(reply.view))
        return
    if as_json:
        payload = {"response_type": "ephemeral", "text": reply.text, "blocks": reply.blocks}
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    from bot.slack.blocks import to_plain

    typer.echo(f"[{role}, {chosen}]")
    typer.echo(to_plain(reply.blocks))


def _asker(conf: Settings, user: str, locale: str | None) -> tuple[Engine, Viewer | None, str]:
    """The database, who USER is there and the language they read (--locale, else stored,
    else the default: no Slack to ask). With the database unreachable, no viewer: the
    answer is then what the bot says in that case (help, or "temporarily unavailable")."""
    from bot.slack.dispatch import who
    from bot.store.engine import unavailable
    from bot.store.schema import ensure_schema

    eng = engine(migrate=False)
    try:
        ensure_schema(eng)
    except Exception as exc:
        if not unavailable(exc):
            fail(f"cannot open the database: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        return eng, None, locale or conf.default_locale
    try:
        viewer, stored = who(eng, conf, user)
    except Exception as exc:
        if not unavailable(exc):
            raise
        return eng, None, locale or conf.default_locale
    return eng, viewer, locale or stored


def modal_to_plain(view: dict[str, Any]) -> str:
    """A modal as terminal text: its title, the words on it, each field (`*`: required)."""
    from bot.slack.blocks import unescape

    lines = [f"== {view['title']['text']} =="]
    for block in view.get("blocks", []):
        if block["type"] == "input":
            element = block["element"]
            mark = "" if block.get("optional") else " *"
            placeholder = (element.get("placeholder") or {}).get("text", "")
            hint = f"‹{placeholder}›" if placeholder else ""
            if element.get("options"):
                hint = " | ".join(o["text"]["text"] for o in element["options"])
            lines.append(f"  {block['label']['text']}{mark}  {hint}".rstrip())
        else:
            lines.append(unescape(block.get("text", {}).get("text", "")))
    buttons = [view[k]["text"] for k in ("submit", "close") if view.get(k)]
    lines.append("  " + "  ".join(f"[{b}]" for b in buttons))
    return "\n".join(lines)


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
