"""Engines, sessions and the column type that keeps every timestamp in UTC.

SQLite and PostgreSQL must behave identically, so the differences live here and nowhere
else: URL spelling, connection pragmas, how an aware timestamp is stored, the
`INSERT … ON CONFLICT` statements (`insert_ignore`, `upsert`) and the health check's
privilege question. Store modules build their statements with these helpers, so none of
them imports a dialect.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Table,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator, TypeEngine


def normalize_url(url: str) -> str:
    """Accept database URLs as people type them (`postgres://…`, `postgresql://…`).

    SQLAlchemy would pick psycopg2 for a bare `postgresql://`; we ship psycopg 3.
    """
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL is still worth showing, minus anything secret
        return url.split("@")[-1]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache; the OS caches the rest
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


_engines: dict[str, Engine] = {}


# PostgreSQL SQLSTATEs that say "the database cannot serve this app now", not "this request
# is wrong": classes 08 (connection), 28 (authorization), 53 (resources), 57 (operator
# intervention: shutdown, cancel), 58 (system/I/O), 3D (no such database); and two codes of
# class 42: 42501 (privileges revoked) and 42P01 (a table is gone: schema dropped or not
# migrated); and 25006, a read-only transaction (a hot standby, a failover in progress).
_PG_CLASSES = frozenset({"08", "28", "53", "57", "58", "3D"})
_PG_CODES = frozenset({"42501", "42P01", "25006"})
# SQLite result codes of the same kind: the file is gone, unreadable, not a database,
# corrupt, read-only, full, or locked for longer than the busy timeout.
_SQLITE_CODES = (
    "SQLITE_CANTOPEN",
    "SQLITE_NOTADB",
    "SQLITE_CORRUPT",
    "SQLITE_IOERR",
    "SQLITE_PERM",
    "SQLITE_READONLY",
    "SQLITE_AUTH",
    "SQLITE_FULL",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
)


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot serve us now (503, "temporarily unavailable",
    try again later) rather than a bug.

    True for a lost or refused connection, revoked privileges, missing tables, and a SQLite
    file that is gone, unreadable or not a database. False for errors of the request itself
    (an integrity or data error) and for anything that is not a database error: those are
    bugs or bad input, and keep their own handling.
    """
    if not isinstance(exc, SQLAlchemyError):
        return False
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None)  # psycopg 3
        if isinstance(sqlstate, str) and sqlstate:
            return sqlstate[:2] in _PG_CLASSES or sqlstate in _PG_CODES
        name = getattr(orig, "sqlite_errorname", None)  # sqlite3 says OperationalError
        if isinstance(name, str) and name:  # for a typo in a query too: go by its code
            return name.startswith(_SQLITE_CODES) or "no such table" in str(orig)
    # No code to go by: a connection that failed or broke.
    return isinstance(exc, OperationalError | InterfaceError)


def describe_problem(exc: BaseException) -> str:
    """One line naming what the database said, for a log: class and first line, no trace."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first}" if first else type(orig).__name__


def insert_ignore(conn: Connection, table: Table, index_elements: list[str]) -> Any:
    """`INSERT … ON CONFLICT (…) DO NOTHING` in this connection's dialect: inside a
    transaction a unique violation would abort the whole transaction on PostgreSQL."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=index_elements)


def read_every_table(conn: Connection, names: list[str]) -> None:
    """Read at most one row of each table, in one statement and one round trip; raises
    what the database says when one cannot be read (missing, privileges revoked, a file
    that is not a database)."""
    quote = conn.dialect.identifier_preparer.quote
    reads = (f"(SELECT 1 FROM {quote(name)} LIMIT 1) AS t{i}" for i, name in enumerate(names))
    conn.execute(text("SELECT " + ", ".join(reads)))


def tables_without_insert(conn: Connection, names: list[str]) -> list[str]:
    """Those of the tables this connection's role may not INSERT into, asked without
    writing. PostgreSQL only: SQLite has no privileges (a read-only file fails on write)."""
    if conn.dialect.name != "postgresql":
        return []
    query = text(
        "SELECT t FROM unnest(CAST(:names AS text[])) AS t "
        "WHERE NOT has_table_privilege(t, 'INSERT')"
    )
    return list(conn.execute(query, {"names": names}).scalars().all())


def upsert(
    conn: Connection,
    table: Table,
    rows: dict[str, Any] | list[dict[str, Any]],
    index_elements: list[str],
    update_columns: list[str],
) -> Any:
    """`INSERT … ON CONFLICT (…) DO UPDATE SET` in this connection's dialect: each of
    `update_columns` takes the value of the row that was refused (`excluded`), so one
    statement writes one row or many."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(rows)
    return stmt.on_conflict_do_update(
        index_elements=index_elements,
        set_={c: stmt.excluded[c] for c in update_columns},
    )


def table_of(model: type) -> Table:
    """A table=True model's Table, for store modules: sqlmodel sets `__table__` when the
    class is created, which the type checker cannot see, so it is read from the namespace."""
    table = vars(model)["__table__"]
    assert isinstance(table, Table)
    return table


def _postgresql_session(dbapi_connection: Any, _record: Any) -> None:
    """Every statement planned afresh, and JIT off, for the bot's sessions.

    psycopg prepares a statement on its fifth run on a connection, and the server then
    keeps that plan for as long as the connection lives. A plan made while a table was
    small stays even when it has grown a thousandfold: the importer's insert, prepared
    after five batches, went on hashing all of `event_key` for every batch (an L import
    ran at 4.9k events/s instead of about 30k). Planning costs a millisecond; every
    statement here is a short indexed read, one aggregate or one batch. (It also suits
    PgBouncer's transaction pooling, which cannot keep prepared statements.)

    JIT: LLVM compiling a few hundred expressions costs far more than it saves (1.8 s of a
    2.0 s retention query on the L benchmark, once partitions raised its cost estimate).
    A SET, not a startup option, so poolers that refuse unknown startup parameters work."""
    dbapi_connection.prepare_threshold = None
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.commit()


def get_engine(url: str) -> Engine:
    """One engine per URL per process."""
    url = normalize_url(url)
    engine = _engines.get(url)
    if engine is None:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            # A server that does not answer fails in seconds, not after the OS's minutes:
            # people get "temporarily unavailable" while Slack still waits for an answer.
            engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
            event.listen(engine, "connect", _postgresql_session)
        _engines[url] = engine
    return engine


def get_read_engine(read_url: str, primary: Engine) -> Engine:
    """Where KPI reads go: the read replica at `read_url` (PRM_DATABASE_READ_URL), or the
    primary when none is set. A replica is never migrated (it follows the primary), and
    it may lag it by a moment: only reports read there, never what must see its own
    writes (docs/deploy.md)."""
    if not read_url or normalize_url(read_url) == normalize_url(str(primary.url)):
        return primary
    return get_engine(read_url)


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: accepts only aware datetimes, stores UTC, returns aware UTC.

    PostgreSQL gets `timestamp with time zone`. SQLite gets an integer count of
    microseconds since the Unix epoch: exact, ordered, and a third of the width of the text
    form in every index, which is what keeps the KPI probes fast on the embedded default.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: every stored instant needs a timezone")
        if dialect.name == "sqlite":
            return (value - _EPOCH) // _MICROSECOND
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, int):
            return _EPOCH + value * _MICROSECOND
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
