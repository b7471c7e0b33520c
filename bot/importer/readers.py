"""Stream CSV or JSON Lines rows with their physical line numbers, never the whole file.

Both readers work on the file's bytes so that progress can be measured exactly (bytes read
of the file size) and a stray non-UTF-8 line costs one row, not the import. Each row comes
out as `(line, fields, error)`:

- `line` is the physical line the record starts on (a CSV header is line 1; a quoted CSV
  field spanning lines reports the line where its record starts; blank lines are skipped
  but counted);
- `fields` maps the kind's known column names to a stripped string, or None for an empty
  cell / JSON null. Unknown columns are ignored. Only the columns the row actually carries
  appear (the CSV header's columns; a JSON object's keys), so an upsert can leave the
  columns a file does not mention untouched;
- `error` is set instead of `fields` when the row cannot even be read (invalid JSON, a
  malformed CSV record, bytes that are not UTF-8).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from bot.importer.errors import ImportFileError
from bot.importer.kinds import KindSpec

BOM = b"\xef\xbb\xbf"
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
CSV_SUFFIXES = frozenset({".csv"})
_SNIFF_CHUNK = 64 * 1024

Fields = dict[str, str | None]
Row = tuple[int, Fields | None, str | None]


def detect_format(path: Path) -> str:
    """`"csv"` or `"jsonl"`: by extension, else by the first non-blank character (`{`)."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    with path.open("rb") as fh:
        first = True
        while chunk := fh.read(_SNIFF_CHUNK):
            if first and chunk.startswith(BOM):
                chunk = chunk[len(BOM) :]
            first = False
            stripped = chunk.lstrip()
            if stripped:
                return "jsonl" if stripped.startswith(b"{") else "csv"
    return "csv"


class RowSource:
    """An open import file; iterate it for rows. `bytes_read` / `size` drive the progress bar.

    Opening checks what makes the whole file unusable (unreadable, no header, a required
    column missing) and raises `ImportFileError` before anything is stored.
    """

    def __init__(self, path: Path, spec: KindSpec) -> None:
        self.path = path
        self.spec = spec
        self.format = detect_format(path)
        self.size = path.stat().st_size
        self.bytes_read = 0
        self._fh: BinaryIO = path.open("rb")
        self._rows: Iterator[Row]
        try:
            self._rows = self._csv_rows() if self.format == "csv" else self._jsonl_rows()
            if self.format == "csv":
                next(self._rows)  # runs up to the header check; yields a sentinel
        except BaseException:
            self._fh.close()
            raise

    def __iter__(self) -> Iterator[Row]:
        return self._rows

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> RowSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- CSV ---------------------------------------------------------------------------

    def _lines(self, bad: set[int]) -> Iterator[str]:
        """Decoded physical lines, line endings kept (as csv wants); BOM dropped.

        A line that is not UTF-8 is decoded with replacement characters and its number put
        in `bad`, so the record containing it is rejected rather than stored garbled.
        """
        for number, line in enumerate(self._fh, start=1):
            self.bytes_read += len(line)
            raw = line[len(BOM) :] if number == 1 and line.startswith(BOM) else line
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                bad.add(number)
                yield raw.decode("utf-8", "replace")

    def _csv_rows(self) -> Iterator[Row]:
        bad: set[int] = set()
        reader = csv.reader(self._lines(bad), strict=True)
        header: list[str] | None = None
        while header is None:
            try:
                cells = next(reader)
            except StopIteration:
                raise ImportFileError(f"{self.path.name}: empty file, no header row") from None
            except csv.Error as exc:
                raise ImportFileError(f"{self.path.name}: unreadable CSV header: {exc}") from exc
            if any(c.strip() for c in cells):
                header = [c.strip() for c in cells]
        if bad:
            raise ImportFileError(f"{self.path.name}: the header row is not UTF-8")
        missing = [c for c in self.spec.required_columns if c not in header]
        if missing:
            plural = "s" if len(missing) > 1 else ""
            raise ImportFileError(
                f"{self.path.name}: the header lacks the required {self.spec.name} "
                f"column{plural} {', '.join(missing)} (found: {', '.join(header)})"
            )
        known = set(self.spec.columns)
        index: list[tuple[str, int]] = []
        for i, name in enumerate(header):
            if name in known and name not in {n for n, _ in index}:
                index.append((name, i))
        width = len(header)
        yield (0, None, None)  # header accepted; __init__ consumes this

        end = reader.line_num
        while True:
            start = end + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                end = reader.line_num
                yield (start, None, f"malformed CSV record: {exc}")
                continue
            end = reader.line_num
            if not any(cells):
                continue  # a blank line, or a row of empty cells as spreadsheets leave
            if bad and any(start <= n <= end for n in bad):
                bad.difference_update(range(start, end + 1))
                yield (start, None, "not valid UTF-8")
                continue
            if len(cells) > width:
                yield (start, None, f"{len(cells)} fields, but the header has {width}")
                continue
            fields: Fields = {}
            n_cells = len(cells)
            for name, i in index:
                value = cells[i].strip() if i < n_cells else ""
                fields[name] = value or None
            yield (start, fields, None)

    # -- JSON Lines ----------------------------------------------------------------------

    def _jsonl_rows(self) -> Iterator[Row]:
        spec = self.spec
        loads = json.loads
        for number, line in enumerate(self._fh, start=1):
            self.bytes_read += len(line)
            raw = line[len(BOM) :] if number == 1 and line.startswith(BOM) else line
            if not raw.strip():
                continue
            try:
                obj = loads(raw)
            except UnicodeDecodeError:
                yield (number, None, "invalid JSON line: not valid UTF-8")
                continue
            except ValueError:
                yield (number, None, f"invalid JSON line: {_json_error(raw)}")
                continue
            if not isinstance(obj, dict):
                yield (number, None, f"invalid JSON line: expected an object, got {json_kind(obj)}")
                continue
            fields, error = object_fields(obj, spec)
            yield (number, fields, error)


def object_fields(obj: dict[str, Any], spec: KindSpec) -> tuple[Fields | None, str | None]:
    """One JSON object as `(fields, None)` for the kind's validator, or `(None, reason)`.

    JSON Lines files and the HTTP API both read objects here, so a value means the same
    whichever way it arrives: strings are stripped (empty means none), numbers become their
    text, a list is allowed only for list columns (tags), anything else is refused.
    """
    lists = spec.list_columns
    fields: Fields = {}
    for name in spec.columns:
        if name not in obj:
            continue
        value = obj[name]
        if value is None:
            fields[name] = None
        elif isinstance(value, str):
            fields[name] = value.strip() or None
        elif isinstance(value, bool):
            return None, f"field {name!r} must be a string, not {json_kind(value)}"
        elif isinstance(value, int | float):
            fields[name] = str(value)
        elif name in lists and isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                return None, f"field {name!r} must be a list of strings"
            fields[name] = ";".join(value) or None
        else:
            return None, f"field {name!r} must be a string, not {json_kind(value)}"
    return fields, None


def json_kind(value: object) -> str:
    """How a JSON value is named in a message: `null`, `true`, `an object`, `a string` …."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a number"


def _json_error(raw: bytes) -> str:
    """Why `raw` is not JSON, with a column that points into the line (not past its end)."""
    try:
        json.loads(raw.rstrip())
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at column {exc.colno}"
    except ValueError as exc:
        return str(exc)
    return "not valid JSON"
