"""The importer: partners, users, assets and events from CSV or JSON Lines into the store.

Public API: `import_path(engine, kind, path, tz, *, batch_size, on_reject, progress,
encoding, now)` returns an `ImportReport`; `ImportFileError` means the whole file was refused
and nothing stored. `now` (default: the wall clock) is what "more than a day in the future"
is measured from; `encoding` is the file's codec (default UTF-8).

Modules, in the order a row travels: `readers` (stream rows with line numbers), `validate`
(row -> record or reason, against lookups loaded once), `load` (batched upserts / inserts),
`run` (the loop), `report` (the counts); `hints` (did-you-mean, the likely encoding).
`records.import_objects` takes items already parsed (the HTTP API) through the same
validators and writers and says what became of each.

Counting: `read = inserted + updated + duplicates + rejected`. Events are never updated; an
`event_id` already stored, or seen earlier in the file, with the same values is a
duplicate, with other values a rejection. Partners, users and assets are never duplicates:
a key that already exists is *updated*, even when nothing changed, so an unchanged
re-import reports all rows updated; a key repeated within one file is rejected (the first
row wins). docs/import.md lists every rule.
"""

from bot.store.importer.errors import ImportFileError
from bot.store.importer.kinds import KINDS
from bot.store.importer.records import ItemOutcome, import_objects
from bot.store.importer.report import MAX_KEPT_REJECTIONS, ImportReport
from bot.store.importer.run import DEFAULT_BATCH_SIZE, import_path

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "KINDS",
    "MAX_KEPT_REJECTIONS",
    "ImportFileError",
    "ImportReport",
    "ItemOutcome",
    "import_objects",
    "import_path",
]
