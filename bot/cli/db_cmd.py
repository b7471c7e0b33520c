"""`prm db …`: schema management."""

from __future__ import annotations

import typer

from bot.cli.common import engine, fail, settings
from bot.store.engine import redact
from bot.store.schema import head_revision, upgrade

app = typer.Typer(help="Create or migrate the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Create the schema, or migrate it to the newest revision. Safe to run twice."""
    url = settings().database_url
    eng = engine(migrate=False)
    try:
        before, after = upgrade(eng)
    except Exception as exc:
        fail(f"cannot migrate {redact(url)}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    if before == after:
        typer.echo(f"{redact(url)}: schema already at {after}")
    else:
        typer.echo(f"{redact(url)}: schema {before or 'empty'} -> {after}")


@app.command("current")
def current_cmd() -> None:
    """Show the schema revision of the configured database and the newest one."""
    from bot.store.schema import current_revision

    eng = engine(migrate=False)
    typer.echo(f"current: {current_revision(eng) or 'empty'}; head: {head_revision()}")
