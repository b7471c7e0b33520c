"""The importer: partners, users, assets and events from CSV or JSON Lines into the store.

Public API: `import_path(engine, kind, path, tz, *, batch_size, on_reject, progress)` returns
an `ImportReport`; `ImportFileError` means the whole file was refused and nothing stored.

Modules, in the order a row travels: `readers` (stream rows with line numbers), `validate`
(row -> record or reason, against lookups loaded once), `load` (batched upserts / inserts),
`run` (the loop), `report` (the counts). `records.import_objects` takes items already parsed
(the HTTP API) through the same validators and writers and says what became of each.

Counting: `read = inserted + updated + duplicates + rejected`. Events are never updated; an
`event_id` already stored, or seen earlier in the file, is a duplicate. Partners, users and
assets are never duplicates: a key that already exists (or came earlier in the file) is
*updated*, even when nothing changed, so an unchanged re-import reports all rows updated.
"""

from bot.importer.errors import ImportFileError
from bot.importer.kinds import KINDS
from bot.importer.records import ItemOutcome, import_objects
from bot.importer.report import MAX_KEPT_REJECTIONS, ImportReport
from bot.importer.run import DEFAULT_BATCH_SIZE, import_path

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
