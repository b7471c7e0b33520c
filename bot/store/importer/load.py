"""Batched writes: one transaction per batch, one statement per batch and table.

Events are inserted by one statement per batch that skips ids already stored and returns
the new rows' ids: the database, not a pre-check, decides what is new, so the counts are
exact and two imports of the same file running at once store each event once.
The rows it did not insert are read back and compared: the same values make a duplicate,
other values a rejection naming the first line (see `EventWriter`).

- PostgreSQL: the batch is `COPY`ed into a session-private temporary table (emptied at
  commit), then `INSERT INTO event SELECT … FROM it` for the ids `event_key` does not hold
  (see `_PG_INSERT`); the batch's months get their partitions first.
  Measured on 500k events this is twice as fast as an executemany of multi-row VALUES
  (which psycopg re-parses for every page of 7,000 placeholders) and a third faster than
  one `unnest()` array per column (text arrays are dumped in Python).
- SQLite: a Core `insert().on_conflict_do_nothing(event_id).returning()` executemany, which
  SQLAlchemy sends as multi-row VALUES pages; here the disk, not Python, is the limit.

Partners, users and assets are upserted by key (`ON CONFLICT (key) DO UPDATE`), touching
only the columns the file carries: a column the importer does not know, such as
`partner_user.tips_off_at` (set by the bot when a rep stops the tips), is never written, so a
re-import cannot reset it. A row counts as *updated* when its key already existed
(in the database, or earlier in the same file), whether or not any value changed; otherwise
*inserted*. Within a batch the rows for one key are merged in file order before writing,
because PostgreSQL refuses to update one row twice in a single statement.

If the database still refuses a batch (an integrity or data error the validator could not
foresee, such as a partner deleted mid-import), the batch is retried row by row so that
only the offending rows are rejected and the rest are stored.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    Table,
    delete,
    select,
    text,
)
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.schema import CreateTable

from bot.store import handles
from bot.store.importer.errors import ImportFileError
from bot.store.importer.validate import Record
from bot.store.partitions import ensure_months, months_in

Batch = list[tuple[int, Record]]
# Keys per IN (…) list: far below SQLite's 32766 bound parameters.
_IN_CHUNK = 1000
# While importing into SQLite, let the write-ahead log grow to this many pages (4 KiB each)
# before it is copied back into the database. The default (1000) is smaller than one batch
# of events dirties, so every commit would pay a checkpoint and its fsync; this keeps the
# log near 64 MiB and roughly halves the time of a large import on a plain disk.
SQLITE_IMPORT_WAL_PAGES = 16384

_TABLES: dict[str, Table] = {
    "partners": handles.partners,
    "users": handles.reps,
    "assets": handles.assets,
    "events": handles.events,
}
_ASSET_TAG: Table = handles.asset_tags
EVENT_COLUMNS = (
    "event_id",
    "occurred_at",
    "type",
    "partner_id",
    "user_id",
    "object_key",
    "amount",
)
# Where a PostgreSQL batch of events lands before the INSERT … SELECT: private to the
# session, emptied at every commit, so concurrent imports never see each other's rows.
_PG_STAGE = Table(
    "prm_import_event",
    MetaData(),
    Column("line", Integer),  # file order, so the first of two equal event_ids wins
    *(Column(name, _TABLES["events"].c[name].type) for name in EVENT_COLUMNS),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)
_event_values = itemgetter(*EVENT_COLUMNS)
_PG_COPY = f"COPY {_PG_STAGE.name} (line, {', '.join(EVENT_COLUMNS)}) FROM STDIN"
# PostgreSQL's `event` is partitioned, so `event_id`'s uniqueness is kept in `event_key`
# (bot/store/partitions.py) and ON CONFLICT has no index to name: new rows are those whose
# key is not stored, the first line of each id in the batch. A concurrent import storing the
# same id first makes the key trigger fail this statement; the batch is then retried row by
# row and those rows found to be duplicates.
_PG_INSERT = f"""
INSERT INTO event ({", ".join(EVENT_COLUMNS)})
SELECT {", ".join(EVENT_COLUMNS)} FROM (
    SELECT DISTINCT ON (s.event_id) s.* FROM {_PG_STAGE.name} s
    WHERE NOT EXISTS (SELECT 1 FROM event_key k WHERE k.event_id = s.event_id)
    ORDER BY s.event_id, s.line
) AS fresh
ORDER BY line
RETURNING id, event_id
"""
_PG_MONTHS = months_in(_PG_STAGE.name)
_compared_values = itemgetter(
    "occurred_at", "type", "partner_id", "user_id", "object_key", "amount"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_STORED_SQL = (
    "SELECT event_id, id, occurred_at, type, partner_id, user_id, object_key, amount "
    "FROM event WHERE event_id {}"
)
# PostgreSQL: through event_key, which says where each id is (one partition's (partner,
# time) index), since the partitions have no index on event_id.
_PG_STORED_SQL = (
    "SELECT e.event_id, e.id, e.occurred_at, e.type, e.partner_id, e.user_id, e.object_key, "
    "e.amount FROM event_key k JOIN event e ON e.partner_id = k.partner_id "
    "AND e.occurred_at = k.occurred_at AND e.event_id = k.event_id WHERE k.event_id {}"
)


@dataclass
class Written:
    """What one batch did; `refused` holds (line, reason) for rows the database refused.

    `inserted_lines` lists the lines that stored a new row. Only a writer made with
    `track=True` fills it: the HTTP API answers per item, a file import needs only counts.
    """

    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)
    inserted_lines: list[int] = field(default_factory=list)


def dialect_insert(conn: Connection) -> Callable[[Table], Any]:
    """The dialect's `insert`, which knows ON CONFLICT; only SQLite and PostgreSQL have one."""
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    raise ImportFileError(f"importing needs SQLite or PostgreSQL, not {name}")


def _driver_connection(conn: Connection) -> Any:
    """The DBAPI connection under `conn` (psycopg or sqlite3), for the driver-level fast paths."""
    driver = conn.connection.driver_connection
    if driver is None:  # only after the pool invalidated it; a live Connection always has one
        raise RuntimeError("the database connection was invalidated during the import")
    return driver


@contextmanager
def bulk_writes(conn: Connection) -> Iterator[None]:
    """Tune `conn` for a long run of batches; restore it afterwards (see the WAL note)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={SQLITE_IMPORT_WAL_PAGES}")
    conn.commit()
    try:
        yield
    finally:
        try:
            conn.rollback()
            conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={int(before or 1000)}")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            conn.commit()
        except SQLAlchemyError:
            conn.invalidate()  # never hand a connection with odd settings back to the pool


def _chunks(items: list[Any], size: int = _IN_CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _db_reason(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return f"refused by the database: {first}"


def on_line(line: int) -> str:
    """Where an earlier row is, in a file's reasons: `on line 3`."""
    return f"on line {line}"


Where = Callable[[int], str]

# The exchange-format names of the columns two events with one event_id are compared on,
# in the order of `EventWriter._values` and of the stored columns read back.
_COMPARED = ("occurred_at", "type", "partner_key", "user_key", "object_key", "amount")


def _same_amount(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    # SQLite keeps Numeric as a double: compare as the store can, not digit by digit.
    return bool(Decimal(str(a)) == Decimal(str(b)) or float(a) == float(b))


def differences(first: tuple[Any, ...], second: tuple[Any, ...]) -> list[str]:
    """The exchange-format names of the fields in which two events' values differ."""
    changed = [name for name, a, b in zip(_COMPARED[:-1], first, second, strict=False) if a != b]
    if not _same_amount(first[-1], second[-1]):
        changed.append("amount")
    return changed


class EventWriter:
    """Inserts events, skipping any `event_id` already stored; counts from RETURNING.

    An `event_id` repeated with the very same values (within the batch, the file, or already
    stored) is a duplicate. With other values it is rejected: `event_id 'e1' already appears
    on line 2 with different values (amount)` when the first one came earlier in this import
    (the writer remembers which line stored each new row: two arrays, 16 bytes per event),
    else `… is already stored with different values (…)`.

    A batch of new events costs nothing more than its insert: RETURNING gives their ids,
    which the database hands out in the order the rows are inserted, i.e. in line order
    (SQLite inserts the VALUES rows in order; PostgreSQL's INSERT … SELECT is ORDER BY line).
    RETURNING also names each new row's `event_id`, so a batch with rows the database did not
    insert reads back only those (through `event_key` on PostgreSQL), never the new ones
    by id: on a partitioned table a lookup by id alone probes every month's index.
    """

    def __init__(self, conn: Connection, *, track: bool = False, where: Where = on_line) -> None:
        self.conn = conn
        self.track = track
        self.where = where
        self._new_ids = array("q")  # ids this writer stored, ascending …
        self._new_lines = array("q")  # … and the line (or index) each came from
        table = _TABLES["events"]
        self._micros = conn.dialect.name == "sqlite"
        insert = dialect_insert(conn)
        self.staged = conn.dialect.name == "postgresql"
        if self.staged:
            conn.execute(CreateTable(_PG_STAGE, if_not_exists=True))
            conn.commit()
            self.stmt: Any = text(_PG_INSERT)
        else:
            self.stmt = (
                insert(table)
                .on_conflict_do_nothing(index_elements=[table.c.event_id])
                .returning(table.c.id, table.c.event_id)
            )

    def _insert(self, batch: Batch) -> list[tuple[int, str]]:
        """Inside the caller's transaction: store the batch; `(id, event_id)` of the new rows."""
        if not self.staged:
            return [tuple(r) for r in self.conn.execute(self.stmt, [record for _, record in batch])]
        import psycopg  # only PostgreSQL stages batches; SQLite users never load the driver

        driver = _driver_connection(self.conn)
        try:
            with driver.cursor() as cur, cur.copy(_PG_COPY) as copy:
                write_row = copy.write_row
                for line, record in batch:
                    write_row((line, *_event_values(record)))
        except psycopg.DataError as exc:  # COPY speaks to the driver directly
            raise DataError(_PG_COPY, None, exc) from exc
        ensure_months(self.conn, self.conn.execute(text(_PG_MONTHS)).scalars())
        return [tuple(r) for r in self.conn.execute(self.stmt)]

    def _values(self, record: Record) -> tuple[Any, ...]:
        """A record's compared values, as the database stores them (see `_stored`)."""
        values = _compared_values(record)
        if self._micros:  # SQLite: bot.store.engine.UTCDateTime stores microseconds since 1970
            return ((values[0] - _EPOCH) // _MICROSECOND, *values[1:])
        return values

    def _select_in(self, sql: str, values: list[Any]) -> list[tuple[Any, ...]]:
        """`sql` (ending in `WHERE column {}`) for `values`, straight through the driver.

        This runs for every duplicate of a re-import, where SQLAlchemy's per-parameter and
        per-row work would triple its cost.
        """
        rows: list[tuple[Any, ...]] = []
        cursor = _driver_connection(self.conn).cursor()
        try:
            for chunk in _chunks(values):
                if self.staged:  # psycopg: one array parameter
                    cursor.execute(sql.format("= ANY(%s)"), (chunk,))
                else:
                    cursor.execute(sql.format(f"IN ({','.join('?' * len(chunk))})"), chunk)
                rows += cursor.fetchall()
        finally:
            cursor.close()
        return rows

    def _first_line(self, event_row_id: int) -> int | None:
        """The line that stored row `event_row_id` in this import, or None (stored before)."""
        at = bisect_left(self._new_ids, event_row_id)
        if at < len(self._new_ids) and self._new_ids[at] == event_row_id:
            return self._new_lines[at]
        return None

    def _classify(
        self, batch: Batch, new: list[tuple[int, str]]
    ) -> tuple[Written, list[tuple[int, int]]]:
        """Inside the transaction: what became of each row; `(id, line)` of the new rows."""
        done = Written()
        if len(new) == len(batch):  # all new: no event_id repeated, nothing to read back
            done.inserted = len(new)
            lines = [line for line, _ in batch]
            if self.track:
                done.inserted_lines = lines
            return done, list(zip(sorted(id_ for id_, _ in new), lines, strict=True))
        ids = {event_id: id_ for id_, event_id in new}
        # Positions in the batch, not tuples: a re-import runs this for every row.
        first: dict[str, int] = {}
        conflicts: list[int] = []
        stored = []
        for at, (line, record) in enumerate(batch):
            event_id = record["event_id"]
            id_ = ids.get(event_id)
            earlier = first.setdefault(event_id, at)
            if earlier != at:
                if id_ is None:  # the first one was stored before: compare with the store
                    conflicts.append(at)
                else:  # the first one is new, in this batch
                    first_line, first_record = batch[earlier]
                    self._repeat(done, line, record, self._values(first_record), None, first_line)
                continue
            if id_ is None:
                conflicts.append(at)
                continue
            done.inserted += 1
            stored.append((id_, line))
            if self.track:
                done.inserted_lines.append(line)
        if conflicts:
            wanted = [batch[at][1]["event_id"] for at in conflicts]
            stored_sql = _PG_STORED_SQL if self.staged else _STORED_SQL
            rows = {row[0]: row for row in self._select_in(stored_sql, wanted)}
            same = self._same_as_stored
            # The first line of this batch holding the stored values: a later different one
            # is named after it, as on the import that stored them (re-runs say the same).
            echoed: dict[str, int] = {}
            for at in conflicts:
                line, record = batch[at]
                event_id = record["event_id"]
                row = rows.get(event_id)
                if row is None or same(row, record):  # (None: a row deleted meanwhile)
                    done.duplicates += 1
                    echoed.setdefault(event_id, line)
                else:
                    self._repeat(done, line, record, tuple(row[2:]), row[1], echoed.get(event_id))
        return done, stored

    def _same_as_stored(self, row: Any, record: Record) -> bool:
        """Whether a `_STORED_SQL` row holds `record`'s values (without building tuples)."""
        occurred = record["occurred_at"]
        if self._micros:
            occurred = (occurred - _EPOCH) // _MICROSECOND
        amount = record["amount"]
        return (
            row[2] == occurred
            and row[3] == record["type"]
            and row[4] == record["partner_id"]
            and row[5] == record["user_id"]
            and row[6] == record["object_key"]
            and (row[7] == amount or _same_amount(row[7], amount))
        )

    def _repeat(
        self,
        done: Written,
        line: int,
        record: Record,
        first: tuple[Any, ...],
        first_id: int | None,
        first_line: int | None = None,
    ) -> None:
        """Count `record` as a duplicate of `first` (the values of the stored row `first_id`,
        or of the row on `first_line`), or refuse it if they differ, naming `first_line`, else
        the line that stored `first_id` in this import, else the store."""
        values = self._values(record)
        changed = [] if first == values else differences(first, values)
        if not changed:
            done.duplicates += 1
            return
        if first_line is None and first_id is not None:
            first_line = self._first_line(first_id)
        event_id = record["event_id"]
        what = f"with different values ({', '.join(changed)})"
        if first_line is None:
            reason = f"event_id {event_id!r} is already stored {what}"
        else:
            reason = f"event_id {event_id!r} already appears {self.where(first_line)} {what}"
        done.refused.append((line, reason))

    def _remember(self, stored: list[tuple[int, int]]) -> None:
        """Keep `(id, line)` of the rows this batch stored, for `_first_line`."""
        stored.sort()
        ids, lines = self._new_ids, self._new_lines
        if not ids or not stored or stored[0][0] > ids[-1]:  # always, within one session
            ids.extend(id_ for id_, _ in stored)
            lines.extend(line for _, line in stored)
            return
        for id_, line in stored:  # pragma: no cover - ids only grow
            at = bisect_left(ids, id_)
            ids.insert(at, id_)
            lines.insert(at, line)

    def write(self, batch: Batch) -> Written:
        try:
            with self.conn.begin():
                done, stored = self._classify(batch, self._insert(batch))
        except (IntegrityError, DataError):
            return self._row_by_row(batch)
        self._remember(stored)
        return done

    def _row_by_row(self, batch: Batch) -> Written:
        done = Written()
        for line, record in batch:
            try:
                one, stored = self._one_row(line, record)
            except (IntegrityError, DataError) as exc:
                done.refused.append((line, _db_reason(exc)))
                continue
            self._remember(stored)
            done.inserted += one.inserted
            done.duplicates += one.duplicates
            done.refused += one.refused
            done.inserted_lines += one.inserted_lines
        return done

    def _one_row(self, line: int, record: Record) -> tuple[Written, list[tuple[int, int]]]:
        """One row in its own transaction. A unique-key refusal gets one more try: another
        writer may have been storing the same event_id at that very moment (its row was
        not visible yet, so it was not skipped), and once it has committed, the retry finds
        it and counts a duplicate, or names the values that differ."""
        try:
            return self._write_one(line, record)
        except IntegrityError as exc:
            if not _is_event_id_clash(exc):
                raise
        return self._write_one(line, record)

    def _write_one(self, line: int, record: Record) -> tuple[Written, list[tuple[int, int]]]:
        with self.conn.begin():
            return self._classify([(line, record)], self._insert([(line, record)]))


def _is_event_id_clash(exc: IntegrityError) -> bool:
    """Whether PostgreSQL refused a second row for one event_id (`event_key`'s key), rather
    than, say, a partner deleted meanwhile. (SQLite's insert skips a stored event_id itself,
    and one writer at a time leaves no moment in between.)"""
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    return getattr(diag, "constraint_name", None) == "pk_event_key"


class EntityWriter:
    """Upserts partners, users or assets by key; assets also get their tags replaced."""

    def __init__(self, conn: Connection, kind: str, *, track: bool = False) -> None:
        self.conn = conn
        self.kind = kind
        self.track = track
        self.table = _TABLES[kind]
        self.insert = dialect_insert(conn)
        self._stmts: dict[tuple[str, ...], Any] = {}

    def _upsert_stmt(self, columns: tuple[str, ...]) -> Any:
        stmt = self._stmts.get(columns)
        if stmt is None:
            base = self.insert(self.table)
            updates = {c: base.excluded[c] for c in columns if c != "key"}
            key = [self.table.c.key]
            stmt = (
                base.on_conflict_do_update(index_elements=key, set_=updates)
                if updates
                else base.on_conflict_do_nothing(index_elements=key)  # e.g. `key,tags` only
            )
            self._stmts[columns] = stmt
        return stmt

    def _existing(self, keys: list[str]) -> set[str]:
        key_col = self.table.c.key
        found: set[str] = set()
        for chunk in _chunks(keys):
            found.update(self.conn.execute(select(key_col).where(key_col.in_(chunk))).scalars())
        return found

    def _write(self, batch: Batch) -> Written:
        merged: dict[str, Record] = {}
        for _, record in batch:
            key = record["key"]
            earlier = merged.get(key)
            merged[key] = record if earlier is None else {**earlier, **record}
        existing = self._existing(list(merged))
        done = Written()
        seen: set[str] = set()
        for line, record in batch:
            key = record["key"]
            if key in existing or key in seen:
                done.updated += 1
            else:
                done.inserted += 1
                seen.add(key)
                if self.track:
                    done.inserted_lines.append(line)

        tags_by_key: dict[str, list[str]] = {}
        groups: dict[tuple[str, ...], list[Record]] = {}
        for key, record in merged.items():
            if "tags" in record:
                record = dict(record)
                tags_by_key[key] = record.pop("tags")
            groups.setdefault(tuple(record), []).append(record)
        for columns, rows in groups.items():
            self.conn.execute(self._upsert_stmt(columns), rows)
        if tags_by_key:
            self._replace_tags(tags_by_key)
        return done

    def _replace_tags(self, tags_by_key: dict[str, list[str]]) -> None:
        asset = self.table
        ids: dict[str, int] = {}
        for chunk in _chunks(list(tags_by_key)):
            query = select(asset.c.key, asset.c.id).where(asset.c.key.in_(chunk))
            for key, asset_id in self.conn.execute(query):
                ids[key] = asset_id
        for chunk in _chunks(list(ids.values())):
            self.conn.execute(delete(_ASSET_TAG).where(_ASSET_TAG.c.asset_id.in_(chunk)))
        rows = [
            {"asset_id": ids[key], "tag": tag} for key, tags in tags_by_key.items() for tag in tags
        ]
        if rows:
            self.conn.execute(_ASSET_TAG.insert(), rows)

    def write(self, batch: Batch) -> Written:
        try:
            with self.conn.begin():
                return self._write(batch)
        except (IntegrityError, DataError):
            pass
        done = Written()
        for line, record in batch:
            try:
                with self.conn.begin():
                    one = self._write([(line, record)])
            except (IntegrityError, DataError) as exc:
                done.refused.append((line, _db_reason(exc)))
                continue
            done.inserted += one.inserted
            done.updated += one.updated
            done.inserted_lines += one.inserted_lines
        return done


Writer = EventWriter | EntityWriter


def make_writer(
    conn: Connection, kind: str, *, track: bool = False, where: Where = on_line
) -> Writer:
    """`track=True`: fill `Written.inserted_lines` (see `Written`). `where(n)` names the
    position of an earlier row in a reason (`on line 3`; the API says `at index 2 …`)."""
    if kind == "events":
        return EventWriter(conn, track=track, where=where)
    return EntityWriter(conn, kind, track=track)


def vacuum_events(engine: Engine) -> None:
    """After a large import, so the first report plans with fresh statistics: on
    PostgreSQL `VACUUM (ANALYZE)` of the event log (every partition) and the rollups its
    triggers wrote (outside a transaction; index-only scans need the visibility map); on
    SQLite a sampled `ANALYZE` (a few milliseconds), without which its planner guesses and
    scans the whole period's events for one partner's answer (measured: 146 → 85 ms)."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")
        return
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) event, partner_first_event, partner_month_activity")
