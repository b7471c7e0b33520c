"""What every `prm` command shares: the engine from settings and one-line failures."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from bot.core.settings import Settings, get_settings
from bot.store.engine import get_engine, get_read_engine, redact
from bot.store.schema import ensure_schema

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line to stderr and exit; never a traceback for a user's mistake."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    raise typer.Exit(code)


def settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"PRM_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        fail(f"bad configuration: {problems}")


def engine(*, migrate: bool = True) -> Engine:
    """The configured database, with its schema brought to head unless told otherwise."""
    url = settings().database_url
    try:
        eng = get_engine(url)
    except Exception as exc:  # unparseable URL, unknown dialect, driver not installed …
        fail(
            f"bad PRM_DATABASE_URL {redact(url)!r}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'cannot use it'}; use sqlite:///FILE "
            "or postgresql://USER@HOST:PORT/DB"
        )
    if migrate:
        try:
            ensure_schema(eng)
        except Exception as exc:  # connection refused, bad URL, read-only file …
            fail(f"cannot open the database: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        demo_hint(eng)
    return eng


def read_engine() -> Engine:
    """Where `prm kpi` reads: PRM_DATABASE_READ_URL, else the primary (migrated first,
    so that a replica fed from it has the same schema)."""
    primary = engine()
    url = settings().database_read_url
    try:
        return get_read_engine(url, primary)
    except Exception as exc:
        fail(f"bad PRM_DATABASE_READ_URL {redact(url)!r}: {type(exc).__name__}")


DEMO_DB = Path("prm-demo.db")  # where `prm demo` (and `make demo`) build the demo


def demo_hint(eng: Engine) -> None:
    """`prm demo` writes its own file and never the configured database. So when no
    PRM_DATABASE_URL is set, the default database is empty and a demo lies beside it, say
    on stderr how to point a command at the demo (nothing changes on stdout)."""
    conf = settings()
    if "database_url" in conf.model_fields_set or not DEMO_DB.is_file():
        return
    from bot.demo.build import is_demo_database, sqlite_url
    from bot.store.partners import partner_count

    try:
        with eng.connect() as conn:
            empty = partner_count(conn) == 0
    except Exception:  # the command itself reports a database it cannot read
        return
    if empty and is_demo_database(DEMO_DB):
        err_console.print(
            f"note: {redact(conf.database_url)} (the default: PRM_DATABASE_URL is not set) "
            f"holds no partners; the demo is in {DEMO_DB}. Use it with "
            f"PRM_DATABASE_URL={sqlite_url(DEMO_DB)} prm …",
            markup=False,
        )
