"""`prm db …`: schema management."""

from __future__ import annotations

from datetime import UTC, date, datetime

import typer

from bot.cli.common import engine, fail, settings
from bot.store.engine import redact
from bot.store.partitions import DEFAULT_PARTITION, maintain, missing
from bot.store.schema import head_revision, upgrade

app = typer.Typer(help="Create or migrate the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Create the schema, or migrate it to the newest revision. Safe to run twice.

    On PostgreSQL it also makes the event partitions of this month and the next three, and
    of any month whose rows wait in the default partition: run it monthly (docs/deploy.md)."""
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
    today = datetime.now(UTC).date()
    with eng.begin() as conn:
        made = maintain(conn, today)
    if made:
        typer.echo(f"event partitions made: {_months(made)}")
    with eng.connect() as conn:
        lacking = missing(conn, today)
    if lacking:
        fail(
            f"event partitions not made: {_months(lacking)}; their "
            f"events wait in {DEFAULT_PARTITION}. Run `prm db upgrade` as a role that may "
            "create tables in the schema, such as its owner (docs/deploy.md, "
            '"Partitions and rollups")',
            code=1,
        )


def _months(months: list[date]) -> str:
    return ", ".join(f"{m:%Y-%m}" for m in months)


@app.command("current")
def current_cmd() -> None:
    """Show the schema revision of the configured database and the newest one."""
    from bot.store.schema import current_revision

    eng = engine(migrate=False)
    typer.echo(f"current: {current_revision(eng) or 'empty'}; head: {head_revision()}")


@app.command("rebuild-rollups")
def rebuild_rollups_cmd() -> None:
    """Recompute the activity rollups (first events, monthly activity) from the event log.

    Triggers keep them on every write, so on a healthy database this changes nothing; run it
    after restoring a dump made without triggers, or to check. One transaction: readers see
    the old rollups until it commits."""
    from bot.store.rollups import rebuild

    eng = engine()
    with eng.begin() as conn:
        done = rebuild(conn)
    typer.echo(
        f"rollups rebuilt: {done.first_events} first-event rows, "
        f"{done.month_activity} partner-month rows; {done.changed} rows differed"
    )
