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

MONTH_TABLE = "partner_month_activity"
MONTH_COLUMNS = "(partner_id, month, type, events, first_at, last_at, amount)"


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


def pg_month_delete_function() -> str:
    """PostgreSQL's `prm_event_month_delete()`: after a DELETE on `event`, the months it
    touched are recomputed from the log (a first or last instant cannot be un-taken).

    The month's end is computed in UTC: `timestamptz + interval '1 month'` steps in the
    session's TimeZone, so under `America/New_York` March would end on 28 March 23:00 UTC
    and lose its last days, under `Europe/London` October would take in an hour of
    November (migration 0013 replaced the first version, which did that). The insert
    overwrites a row a concurrent delete in the same cell recomputed first: both read the
    log after the other's commit, so either answer is the log's."""
    cells = (
        f"SELECT DISTINCT partner_id, {month_sql('postgresql', 'occurred_at')} AS month, type "
        "FROM old_events"
    )
    month_end = "((c.month AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'"
    recompute = (
        f"SELECT e.partner_id, c.month, e.type, count(*), min(e.occurred_at), "
        f"max(e.occurred_at), sum(e.amount) FROM ({cells}) c "
        "JOIN event e ON e.partner_id = c.partner_id "
        f"AND e.type = c.type AND e.occurred_at >= c.month AND e.occurred_at < {month_end} "
        "GROUP BY 1, 2, 3"
    )
    return f"""CREATE OR REPLACE FUNCTION prm_event_month_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {MONTH_TABLE} t USING ({cells}) c
    WHERE t.partner_id = c.partner_id AND t.month = c.month AND t.type = c.type;
    INSERT INTO {MONTH_TABLE} {MONTH_COLUMNS} {recompute}
    ON CONFLICT (partner_id, month, type) DO UPDATE SET events = excluded.events,
        first_at = excluded.first_at, last_at = excluded.last_at, amount = excluded.amount;
    RETURN NULL;
END
$$"""


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
