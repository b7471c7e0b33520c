"""`import_path`: read a file, validate each row, write valid rows in batches, report.

The only entry point the CLI, the demo and the benchmark use. The file is streamed; memory
holds two batches of records (one being written, one being filled) plus the key lookups,
whatever the file size.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.store.importer.errors import ImportFileError, RowRejected
from bot.store.importer.kinds import KINDS
from bot.store.importer.load import (
    Batch,
    Writer,
    Written,
    bulk_writes,
    make_writer,
    on_line,
    vacuum_events,
)
from bot.store.importer.readers import RowSource, check_encoding
from bot.store.importer.report import ImportReport
from bot.store.importer.validate import Lookups, Repeats, load_lookups, make_validator

DEFAULT_BATCH_SIZE = 5000
# Rejections are reported in line order, but the writer's (a repeated event_id, a row the
# database refused) are known only once its batch is written. At most this many wait for
# it; then the batch being filled is written early.
MAX_WAITING_REJECTIONS = 10_000
# After this many new events, refresh PostgreSQL's statistics and visibility map at once
# rather than waiting for autovacuum: the KPI queries are index-only scans, which read the
# table itself for every row on pages not yet marked all-visible.
VACUUM_AFTER_ROWS = 10_000

RejectHook = Callable[[int, str], None]
ProgressHook = Callable[[int, int], None]


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ImportFileError(f"unknown kind {kind!r}: choose one of {', '.join(KINDS)}")


def check_file(path: Path) -> None:
    if not path.exists():
        raise ImportFileError(f"no such file: {path}")
    if not path.is_file():
        raise ImportFileError(f"not a file: {path}")


class BatchPipeline:
    """Writes batches on one background thread while the caller reads and validates the next.

    Parsing and validating are Python work; writing is mostly waiting on SQLite's C code or
    the PostgreSQL server, which releases the GIL. Overlapping the two makes a large import
    about a fifth faster. The connection lives entirely on the worker thread (a SQLAlchemy
    connection must not be used from two threads), at most one batch is in flight, and
    batches commit one after another in file order, each in its own transaction.
    """

    def __init__(self, engine: Engine, kind: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prm-import")
        self._stack = ExitStack()
        self._writer: Writer | None = None
        self._pending: Future[Written] | None = None
        try:
            self.lookups = self._pool.submit(self._open, engine, kind).result()
        except BaseException:
            self.close()
            raise

    def _open(self, engine: Engine, kind: str) -> Lookups:
        conn = self._stack.enter_context(engine.connect())
        self._stack.enter_context(bulk_writes(conn))
        writer = make_writer(conn, kind, where=on_line)
        lookups = load_lookups(conn, kind)
        conn.rollback()  # end the read; each batch is its own transaction
        self._writer = writer
        return lookups

    def submit(self, batch: Batch) -> Written | None:
        """Start writing `batch` (which the caller must not touch again).

        Returns what the previous batch did, waiting for it first; its exception, if any,
        is raised here.
        """
        done = self.wait()
        assert self._writer is not None
        self._pending = self._pool.submit(self._writer.write, batch)
        return done

    def wait(self) -> Written | None:
        pending, self._pending = self._pending, None
        return None if pending is None else pending.result()

    def close(self) -> None:
        """Let the batch in flight finish (it commits or rolls back whole), then disconnect."""
        try:
            self._pool.submit(self._stack.close).result()
        finally:
            self._pool.shutdown(wait=True)


class _InLineOrder:
    """Holds rejections until every earlier line's fate is known, then emits them sorted."""

    def __init__(self, emit: Callable[[int, str], None]) -> None:
        self.emit = emit
        self.waiting: list[tuple[int, str]] = []

    def add(self, line: int, reason: str) -> None:
        self.waiting.append((line, reason))

    def release(self, below: int | None = None) -> None:
        """Emit the rejections of lines before `below` (all of them when None)."""
        if not self.waiting:
            return
        self.waiting.sort(key=lambda item: item[0])
        if below is None:
            ready, self.waiting = self.waiting, []
        else:
            cut = next((i for i, (line, _) in enumerate(self.waiting) if line >= below), None)
            if cut is None:
                ready, self.waiting = self.waiting, []
            else:
                ready, self.waiting = self.waiting[:cut], self.waiting[cut:]
        for line, reason in ready:
            self.emit(line, reason)


def import_path(
    engine: Engine,
    kind: str,
    path: Path,
    tz: ZoneInfo,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_reject: RejectHook | None = None,
    progress: ProgressHook | None = None,
    encoding: str | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Import `path` as `kind` (partners, users, assets or events) into `engine`'s database.

    Raises `ImportFileError`, with nothing stored, when the kind or the encoding is unknown,
    the file is missing or unreadable, or a CSV header lacks a required column (a read error
    part-way raises it too, after the batches before it were committed). Otherwise every row
    is stored, counted as a duplicate, or rejected: `on_reject(line, reason)` is called for
    each rejection, in line order (on the calling thread), `progress(bytes_read, file_size)`
    after each batch. Batches are committed one by one, so a database failure part-way
    leaves whole batches behind and raises; re-running the import is safe and finishes it.

    `encoding` is the file's Python codec (None: UTF-8, with or without a BOM). `now` (aware;
    None: the wall clock when the import starts) is what "more than a day in the future"
    is measured from.
    """
    check_kind(kind)
    check_file(path)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    codec = check_encoding(encoding)
    now = datetime.now(UTC) if now is None else now
    try:
        source = RowSource(path, KINDS[kind], encoding=codec)
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from exc

    report = ImportReport(kind=kind, path=path)

    def reject(line: int, reason: str) -> None:
        report.reject(line, reason)
        if on_reject is not None:
            on_reject(line, reason)

    in_order = _InLineOrder(reject)

    def account(done: Written | None) -> None:
        if done is None:
            return
        report.inserted += done.inserted
        report.updated += done.updated
        report.duplicates += done.duplicates
        for line, reason in done.refused:
            in_order.add(line, reason)

    with source:
        pipeline = BatchPipeline(engine, kind)
        try:
            validate = make_validator(kind, tz, pipeline.lookups, now=now)
            repeats = Repeats(kind, on_line)
            batch: Batch = []
            try:
                for line, fields, error in source:
                    report.read += 1
                    if error is None:
                        assert fields is not None  # a Row has its fields or its error
                        try:
                            record = validate(fields)
                            repeats.check(line, record)
                        except RowRejected as exc:
                            error = exc.reason
                        else:
                            batch.append((line, record))
                            if len(batch) >= batch_size:
                                first = batch[0][0]
                                account(pipeline.submit(batch))
                                in_order.release(below=first)
                                batch = []
                                if progress is not None:
                                    progress(source.bytes_read, source.size)
                            continue
                    in_order.add(line, error)
                    if len(in_order.waiting) >= MAX_WAITING_REJECTIONS:
                        if batch:
                            account(pipeline.submit(batch))
                            batch = []
                        account(pipeline.wait())
                        in_order.release()
            except OSError as exc:
                raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
            if batch:
                account(pipeline.submit(batch))
            account(pipeline.wait())
            in_order.release()
            if progress is not None:
                progress(source.bytes_read, source.size)
        finally:
            pipeline.close()
    if kind == "events" and report.inserted >= VACUUM_AFTER_ROWS:
        vacuum_events(engine)
    return report
