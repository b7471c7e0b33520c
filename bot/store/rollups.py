"""The rollups of the activity log, and how to rebuild them from it.

Two tables summarise `event` so that KPIs read a few rows per partner instead of probing
millions of events: `partner_first_event` (first time per partner and type) and
`partner_month_activity` (per partner, UTC month and type: count, first and last instant,
sum of amounts).
Database triggers keep both on every insert and delete, whoever writes — the importer, the
integration API, the bot's own registrations and downloads, a hand-written INSERT — so
they cannot drift from the log. `prm db rebuild-rollups` recomputes them anyway: after a
restore from a dump taken without triggers, or to prove they agree (it reports what it
changed, which is nothing on a healthy database).

The SQL here is the one definition of each rollup: the migrations' triggers and the
rebuild use the same month expression per dialect.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text


def month_sql(dialect: str, column: str) -> str:
    """The start of `column`'s UTC month, in the column's own storage.

    SQLite stores instants as integer microseconds since 1970 (bot.store.engine.UTCDateTime):
    floor to the second, let strftime find the month's start, back to microseconds.
    """
    if dialect == "postgresql":
        return f"(date_trunc('month', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
    seconds = f"(({column}) / 1000000 - (({column}) % 1000000 < 0))"
    start = f"strftime('%s', {seconds}, 'unixepoch', 'start of month')"
    return f"(CAST({start} AS INTEGER) * 1000000)"


def month_activity_select(
    dialect: str, source: str, where: str = "", *, alias: bool = False
) -> str:
    """`partner_month_activity`'s rows computed from the events in `source` (with the
    table's column names when `alias`)."""
    names = (" AS events", " AS first_at", " AS last_at", " AS amount") if alias else ("",) * 4
    return (
        f"SELECT partner_id, {month_sql(dialect, 'occurred_at')} AS month, type, "
        f"count(*){names[0]}, min(occurred_at){names[1]}, max(occurred_at){names[2]}, "
        f"sum(amount){names[3]} FROM {source} {where} GROUP BY 1, 2, 3"
    )


FIRST_EVENT_SELECT = (
    "SELECT partner_id, type, min(occurred_at) FROM event GROUP BY partner_id, type"
)


@dataclass(frozen=True)
class Rebuilt:
    """Rows per rollup after the rebuild, and how many differed from what was stored."""

    first_events: int
    month_activity: int
    changed: int


def rebuild(conn: Connection) -> Rebuilt:
    """Inside the caller's transaction: recompute both rollups from `event`."""
    dialect = conn.dialect.name
    month = month_activity_select(dialect, "event")
    first = FIRST_EVENT_SELECT
    stored_first = "SELECT partner_id, type, first_at FROM partner_first_event"
    stored_month = (
        "SELECT partner_id, month, type, events, first_at, last_at, amount "
        "FROM partner_month_activity"
    )
    # Amounts compared to the column's four decimals: SQLite sums them as floats, whose
    # last bits depend on the order of addition.
    month_cmp, stored_cmp = (
        f"SELECT partner_id, month, type, events, first_at, last_at, round(amount, 4) FROM ({q}) m"
        for q in (f"{month_activity_select(dialect, 'event', alias=True)}", stored_month)
    )
    changed = sum(
        _count(conn, f"SELECT count(*) FROM ({a} EXCEPT {b}) d")
        for a, b in (
            (first, stored_first),
            (stored_first, first),
            (month_cmp, stored_cmp),
            (stored_cmp, month_cmp),
        )
    )
    conn.execute(text("DELETE FROM partner_first_event"))
    conn.execute(text(f"INSERT INTO partner_first_event (partner_id, type, first_at) {first}"))
    conn.execute(text("DELETE FROM partner_month_activity"))
    conn.execute(
        text(
            "INSERT INTO partner_month_activity "
            f"(partner_id, month, type, events, first_at, last_at, amount) {month}"
        )
    )
    return Rebuilt(
        first_events=_count(conn, "SELECT count(*) FROM partner_first_event"),
        month_activity=_count(conn, "SELECT count(*) FROM partner_month_activity"),
        changed=changed,
    )


def _count(conn: Connection, sql: str) -> int:
    return int(conn.execute(text(sql)).scalar_one())
