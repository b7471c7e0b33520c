"""Monthly partitions of the activity log (`event`) on PostgreSQL.

On PostgreSQL `event` is declaratively partitioned by `occurred_at`, one partition per UTC
month (`event_y2026m01`), plus `event_default` for any instant no partition covers yet, so
an insert never fails for want of a partition. Old months can be detached or moved to other
storage without touching the live ones, and a KPI window over recent months reads only their
partitions (the planner prunes the rest).

A partitioned table cannot have a unique index without the partition key, so the global
uniqueness of `event_id` (the idempotency key) lives in `event_key`, kept by a statement
trigger on `event`: a second insert of the same id fails exactly as a unique index would.

Partitions are made by whoever writes: the importer for the months of each batch,
`append_event` for the month of the bot's own event, and `prm db upgrade` for the data's
months and the coming ones. A month whose rows already landed in `event_default` is made by
moving those rows into the new partition first (PostgreSQL refuses to attach a range the
default partition still holds). A role that may not create tables (a locked-down bot) writes
into the default partition instead, with a warning, until `prm db upgrade` runs. The
catalog, not a cache, decides what exists; the in-process cache only saves asking again for
a month already seen.

SQLite has no partitioning and keeps its plain table with a unique `event_id`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

PARTITION_LOCK = 7_340_002  # pg_advisory_xact_lock key held while partitions are made
DEFAULT_PARTITION = "event_default"
KEY_TABLE = "event_key"
PREFIX = "event_y"
AHEAD_MONTHS = 3  # `prm db upgrade` makes the current month and this many after it

_seen: dict[str, set[date]] = {}  # database URL -> months known to have a partition


def months_in(table: str) -> str:
    """SQL: the distinct UTC months (dates) of the `occurred_at` values in `table`."""
    return (
        f"SELECT DISTINCT (date_trunc('month', occurred_at AT TIME ZONE 'UTC'))::date FROM {table}"
    )


def month_of(day: date) -> date:
    return date(day.year, day.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PREFIX}{month.year:04d}m{month.month:02d}"


def is_partition_name(name: str) -> bool:
    """`event_y2026m01` or `event_default`: storage of `event`, not tables of their own."""
    if name == DEFAULT_PARTITION:
        return True
    rest = name.removeprefix(PREFIX)
    return rest != name and len(rest) == 7 and rest[4] == "m" and (rest[:4] + rest[5:]).isdigit()


def bound_literal(month: date) -> str:
    """A partition bound literal (DDL takes no parameters); built from a date, never input."""
    return f"'{month.isoformat()} 00:00:00+00'"


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass('event')")
    ).scalar()
    return kind == "p"


def existing_months(conn: Connection) -> set[date]:
    """The months that have a partition, from the catalog."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass('event')"
        )
    ).scalars()
    months = set()
    for name in names:
        if name.startswith(PREFIX) and is_partition_name(name):
            rest = name.removeprefix(PREFIX)
            months.add(date(int(rest[:4]), int(rest[5:]), 1))
    return months


def ensure_months(conn: Connection, months: Iterable[date]) -> list[date]:
    """Inside the caller's transaction: make the partitions of `months` that are missing;
    returns the months made. A no-op (no query) for months this process has already seen.

    A month made here is not remembered as seen: the caller's transaction may still roll
    back (a refused batch) and take the partition with it. The next call finds it in the
    catalog once committed (one query), or makes it again."""
    if conn.dialect.name != "postgresql":
        return []
    url = conn.engine.url.render_as_string(hide_password=True)
    seen = _seen.setdefault(url, set())
    wanted = {month_of(m) for m in months} - seen
    if not wanted:
        return []
    if not is_partitioned(conn):
        return []
    have = existing_months(conn)
    made = sorted(wanted - have)
    if made:
        try:
            with conn.begin_nested():  # a savepoint: a refusal leaves the caller's work intact
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARTITION_LOCK})
                made = sorted(wanted - existing_months(conn))
                for month in made:
                    _make(conn, month)
        except SQLAlchemyError as exc:
            # A role without CREATE on the schema (the bot's, in a locked-down deployment):
            # the rows go to the default partition and `prm db upgrade` moves them later.
            log.warning(
                "event partitions %s not made (%s); rows wait in %s until `prm db upgrade`",
                ", ".join(f"{m:%Y-%m}" for m in made),
                type(getattr(exc, "orig", None) or exc).__name__,
                DEFAULT_PARTITION,
            )
            made = []
    seen.update(wanted - set(made))  # refused months too: not asked again every batch
    return made


def forget_seen() -> None:
    """Drop the in-process cache (after a schema downgrade, for instance)."""
    _seen.clear()


def _make(conn: Connection, month: date) -> None:
    name, start, end = partition_name(month), bound_literal(month), bound_literal(next_month(month))
    stray = conn.execute(
        text(
            f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} "
            f"WHERE occurred_at >= {start} AND occurred_at < {end})"
        )
    ).scalar()
    if not stray:
        conn.execute(
            text(f"CREATE TABLE {name} PARTITION OF event FOR VALUES FROM ({start}) TO ({end})")
        )
        return
    # The month's rows are in the default partition: move them, then attach.
    conn.execute(text(f"CREATE TABLE {name} (LIKE event INCLUDING DEFAULTS)"))
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "
            f"WHERE occurred_at >= {start} AND occurred_at < {end} RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved"
        )
    )
    conn.execute(
        text(f"ALTER TABLE event ATTACH PARTITION {name} FOR VALUES FROM ({start}) TO ({end})")
    )


def _due(conn: Connection, today: date) -> list[date]:
    """The months that should have a partition: those with rows waiting in the default
    partition, and `today`'s month and the AHEAD_MONTHS after it."""
    stray = conn.execute(text(months_in(DEFAULT_PARTITION))).scalars()
    coming = [month_of(today)]
    for _ in range(AHEAD_MONTHS):
        coming.append(next_month(coming[-1]))
    return [*stray, *coming]


def maintain(conn: Connection, today: date) -> list[date]:
    """What `prm db upgrade` runs: make the partitions that are due (`_due`); the months
    made. A month it may not make (the role lacks CREATE) is logged by `ensure_months`
    and reported by `missing`."""
    if not is_partitioned(conn):
        return []
    _seen.pop(conn.engine.url.render_as_string(hide_password=True), None)
    return ensure_months(conn, _due(conn, today))


def missing(conn: Connection, today: date) -> list[date]:
    """The due months that still have no partition (after `maintain`, those it could not
    make): `prm db upgrade` fails on them, so a monthly cron job does not pass in silence."""
    if not is_partitioned(conn):
        return []
    return sorted(set(_due(conn, today)) - existing_months(conn))
