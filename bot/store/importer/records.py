"""`import_objects`: items that arrive already parsed (the HTTP API), one outcome per item.

`import_path` streams a file and reports counts and line-numbered rejections; an API client
needs to know what became of each item it sent. This runs the very same steps — fields read
by `readers.object_fields` (as a JSON Lines line is), the kind's validator against lookups
loaded once, the batched writers — so the API and `prm import` agree on every rule: the same
rejection reasons, first `event_id` wins, upserts touch only the keys an item carries.

The caller bounds the number of items (the API allows 10,000), so everything happens on the
calling thread and one connection; batches of `batch_size` are committed one by one.

Where a file's reason says `on line 3`, an item's says `at index 2 of this request` (a key
or event_id repeated within one request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.store.importer.errors import RowRejected
from bot.store.importer.kinds import KINDS
from bot.store.importer.load import Batch, make_writer
from bot.store.importer.readers import object_fields
from bot.store.importer.run import DEFAULT_BATCH_SIZE, check_kind
from bot.store.importer.validate import Repeats, load_lookups, make_validator

Status = Literal["inserted", "updated", "duplicate", "rejected"]


@dataclass(frozen=True)
class ItemOutcome:
    """What became of `objects[index]`; `reason` is set only when it was rejected.

    Events are `inserted`, `duplicate` or `rejected`; partners, users and assets are
    `inserted`, `updated` or `rejected` (a key seen before counts as updated, as in a file).
    """

    index: int
    status: Status
    reason: str | None = None


def at_index(index: int) -> str:
    """Where an earlier item is, in an API reason: `at index 2 of this request`."""
    return f"at index {index} of this request"


def import_objects(
    engine: Engine,
    kind: str,
    objects: Sequence[dict[str, Any]],
    tz: ZoneInfo,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime | None = None,
) -> list[ItemOutcome]:
    """Validate and store `objects` as `kind`; return one outcome per object, in order.

    A rejected object stores nothing: it fails validation before any write, or the database
    refuses it and its batch is retried row by row. Raises `ImportFileError` for an unknown
    kind, and the database's errors if it cannot be reached (whole batches written before
    stay written; sending the same items again is safe). `now` (aware; None: the wall clock)
    is what "more than a day in the future" is measured from.
    """
    check_kind(kind)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    spec = KINDS[kind]
    otherwise: Status = "duplicate" if kind == "events" else "updated"
    outcomes: list[ItemOutcome | None] = [None] * len(objects)

    now = datetime.now(UTC) if now is None else now
    with engine.connect() as conn:
        writer = make_writer(conn, kind, track=True, where=at_index)
        lookups = load_lookups(conn, kind)
        conn.rollback()  # end the read; each batch is its own transaction
        validate = make_validator(kind, tz, lookups, now=now)
        repeats = Repeats(kind, at_index)

        def flush(batch: Batch) -> None:
            done = writer.write(batch)
            refused = dict(done.refused)
            new = set(done.inserted_lines)
            for index, _ in batch:
                if index in refused:
                    outcomes[index] = ItemOutcome(index, "rejected", refused[index])
                else:
                    outcomes[index] = ItemOutcome(index, "inserted" if index in new else otherwise)

        batch: Batch = []
        for index, obj in enumerate(objects):
            fields, error = object_fields(obj, spec)
            if fields is not None:
                try:
                    record = validate(fields)
                    repeats.check(index, record)
                    batch.append((index, record))
                except RowRejected as exc:
                    error = exc.reason
            if error is not None:
                outcomes[index] = ItemOutcome(index, "rejected", error)
            elif len(batch) >= batch_size:
                flush(batch)
                batch = []
        if batch:
            flush(batch)
    done = [outcome for outcome in outcomes if outcome is not None]
    assert len(done) == len(outcomes)  # every object was either rejected or flushed
    return done
