"""Stream CSV or JSON Lines rows with their physical line numbers, never the whole file.

Both readers work on the file's bytes so that progress can be measured exactly (bytes read
of the file size) and a stray line that does not decode costs one row, not the import. The
file is UTF-8 (a BOM is dropped) unless an encoding is given (`encoding`, any Python text
codec: `cp932` for Shift-JIS, `utf-16` …). Each row comes out as `(line, fields, error)`:

- `line` is the physical line the record starts on (a CSV header is line 1; a quoted CSV
  field spanning lines reports the line where its record starts; blank lines are skipped
  but counted);
- `fields` maps the kind's known column names to a stripped string, or None for an empty
  cell / JSON null. Unknown columns are ignored. Only the columns the row actually carries
  appear (the CSV header's columns; a JSON object's keys), so an upsert can leave the
  columns a file does not mention untouched;
- `error` is set instead of `fields` when the row cannot even be read (invalid JSON, a
  malformed CSV record, bytes that do not decode, a value under a misspelt column name).

A quote that is opened and never closed would make a CSV parser read the rest of the file
as one field. Here the record is reported at the line the quote opens on, and parsing
resumes on the next line (see `RowSource._csv_records`).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections import deque
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any, BinaryIO

from bot.store.importer.errors import ImportFileError
from bot.store.importer.hints import did_you_mean, encoding_hint, suggest_column
from bot.store.importer.kinds import KindSpec

BOM = b"\xef\xbb\xbf"
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
CSV_SUFFIXES = frozenset({".csv"})
_SNIFF_CHUNK = 64 * 1024
# Characters a strictly decoded text never holds: a lone surrogate marks where bytes did not
# decode (the `prm-undecodable` error handler puts it there).
_UNDECODABLE = "\udfff"
_ASCII_PROBE = b'\n,"\r{}:key'
# Bad lines whose bytes are looked at to guess the file's real encoding.
_GUESS_SAMPLES = 8

_CONTROL_CHAR = re.compile("[\x00-\x1f\x7f]")

Fields = dict[str, str | None]
Row = tuple[int, Fields | None, str | None]
Line = tuple[int, str, bool]  # (number, text with its line ending, decoded cleanly)


def _mark_undecodable(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return _UNDECODABLE, exc.end


codecs.register_error("prm-undecodable", _mark_undecodable)


def check_encoding(encoding: str | None) -> str | None:
    """The Python codec name for `encoding` (None: UTF-8), or `ImportFileError` saying why."""
    if encoding is None:
        return None
    try:
        info = codecs.lookup(encoding.strip())
    except LookupError:
        raise ImportFileError(
            f"unknown encoding {encoding!r}: give a Python codec name such as utf-8, "
            "cp932 (Shift-JIS, Excel on Japanese Windows), euc_jp, utf-16 or cp1252"
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise ImportFileError(f"{encoding!r} is not a text encoding (it is {info.name})")
    return info.name


def _ascii_compatible(codec: str) -> bool:
    """Whether lines can be split on b"\\n" and decoded one by one (not UTF-16/32, EBCDIC)."""
    try:
        return _ASCII_PROBE.decode(codec) == _ASCII_PROBE.decode("ascii")
    except UnicodeDecodeError:
        return False


def detect_format(path: Path, encoding: str | None = None) -> str:
    """`"csv"` or `"jsonl"`: by extension, else by the first non-blank character (`{`)."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    with path.open("rb") as fh:
        if encoding is not None and not _ascii_compatible(encoding):
            text = fh.read(_SNIFF_CHUNK).decode(encoding, "replace")
            return "jsonl" if text.lstrip("\ufeff \t\r\n").startswith("{") else "csv"
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

    Opening checks what makes the whole file unusable (unreadable, unknown encoding, no
    header, a required column missing) and raises `ImportFileError` before anything is
    stored.
    """

    def __init__(self, path: Path, spec: KindSpec, *, encoding: str | None = None) -> None:
        self.path = path
        self.spec = spec
        self.codec = check_encoding(encoding)
        self.format = detect_format(path, self.codec)
        self.size = path.stat().st_size
        self.bytes_read = 0
        self._samples: list[bytes] = []
        self._hint: str | None = None
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
        rows = getattr(self, "_rows", None)
        if rows is not None:
            rows.close()  # first: a decoding stream over the file lets go of it
        self._fh.close()

    def __enter__(self) -> RowSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- decoding ----------------------------------------------------------------------

    def _lines(self) -> Iterator[Line]:
        """Decoded physical lines, line endings kept (as csv wants); a leading BOM dropped.

        A line that does not decode is flagged (and passed on as Latin-1, only so that the
        CSV parser finds where its record ends), so the record containing it is rejected
        rather than stored garbled; its bytes feed the guess of the file's real encoding.
        """
        codec = self.codec or "utf-8"
        if _ascii_compatible(codec):
            utf8 = codec == "utf-8"
            for number, raw in enumerate(self._fh, start=1):
                self.bytes_read += len(raw)
                if number == 1 and raw.startswith(BOM) and utf8:
                    raw = raw[len(BOM) :]
                try:
                    text = raw.decode(codec)
                except UnicodeError:  # (idna and friends raise more than UnicodeDecodeError)
                    self._sample(raw)
                    yield number, raw.decode("latin-1"), False  # only to find the record's end
                    continue
                if number == 1 and text.startswith("\ufeff"):
                    text = text[1:]
                yield number, text, True
            return
        # UTF-16, UTF-32, EBCDIC …: "\n" is not the byte 0x0A, so decode the stream.
        stream = io.TextIOWrapper(self._fh, encoding=codec, errors="prm-undecodable", newline="\n")
        number = 0
        try:
            while True:
                try:
                    text = stream.readline()
                except UnicodeError as exc:  # `UTF-16 stream does not start with BOM` …
                    after = f" after line {number}" if number else ""
                    bom = "BOM" in str(exc)
                    order = " (name the byte order: utf-16-le or utf-16-be)" if bom else ""
                    raise ImportFileError(
                        f"{self.path.name}: cannot be read as {codec}{after}: {exc}{order}"
                    ) from exc
                if not text:
                    return
                number += 1
                self.bytes_read = self._fh.tell()
                if number == 1 and text.startswith("\ufeff"):
                    text = text[1:]
                if _UNDECODABLE in text:
                    yield number, text.replace(_UNDECODABLE, "\ufffd"), False
                else:
                    yield number, text, True
        finally:
            with suppress(ValueError):  # the file was closed under it: nothing to hand back
                stream.detach()

    def _sample(self, raw: bytes) -> None:
        if self.codec is None and len(self._samples) < _GUESS_SAMPLES:
            self._samples.append(raw)
            self._hint = None

    def undecodable(self) -> str:
        """Why a line was refused: `not valid UTF-8; it looks like Shift-JIS: try …`."""
        if self.codec is not None:
            return f"not valid {self.codec}"
        if self._hint is None:
            self._hint = encoding_hint(b"".join(self._samples))
        return f"not valid UTF-8{self._hint}"

    # -- CSV ---------------------------------------------------------------------------

    def _csv_records(self) -> Iterator[tuple[list[Line], list[str] | None, str | None]]:
        """`(lines, cells, None)` per CSV record, or `(lines, None, error)`.

        A record whose parse fails after it ran past its first line (an unclosed quote: the
        parser reached the end of the file, the field size limit, or a stray quote far
        below) is reported at its first line, and its other lines are parsed again as
        records of their own. So a broken quote costs its own row and nothing more.
        `_csv_rows` pushes lines back onto `self._replay` too, when a record that parsed
        looks like a runaway quote all the same.
        """
        source = self._lines()
        replay: deque[Line] = deque()
        current: list[Line] = []

        def feed() -> Iterator[str]:
            while True:
                line: Line | None = replay.popleft() if replay else next(source, None)
                if line is None:
                    return
                current.append(line)
                yield line[1]

        self._replay = replay
        reader = csv.reader(feed(), strict=True)
        while True:
            current = []
            try:
                cells = next(reader)
            except StopIteration:
                if not replay:
                    return
                reader = csv.reader(feed(), strict=True)  # lines pushed back after the end
                continue
            except csv.Error as exc:
                if not current:  # pragma: no cover - csv reads a line before it can fail
                    raise ImportFileError(f"{self.path.name}: unreadable CSV: {exc}") from exc
                lines = current
                if len(lines) > 1 or str(exc) == "unexpected end of data":
                    error = _unclosed_quote(lines, str(exc))
                    replay.extendleft(reversed(lines[1:]))
                else:
                    error = f"malformed CSV record: {exc}"
                reader = csv.reader(feed(), strict=True)  # a fresh parser for what follows
                yield lines, None, error
                continue
            yield current, cells, None

    def _csv_rows(self) -> Iterator[Row]:
        records = self._csv_records()
        header: list[str] | None = None
        while header is None:
            try:
                lines, cells, error = next(records)
            except StopIteration:
                raise ImportFileError(f"{self.path.name}: empty file, no header row") from None
            if error is not None:
                raise ImportFileError(f"{self.path.name}: unreadable CSV header: {error}")
            assert cells is not None
            if any(c.strip() for c in cells):
                header = [c.strip() for c in cells]
                if not all(ok for _, _, ok in lines):
                    raise ImportFileError(
                        f"{self.path.name}: the header row is {self.undecodable()}"
                    )
        spec = self.spec
        missing = [c for c in spec.required_columns if c not in header]
        absent = tuple(c for c in spec.columns if c not in header)
        known = set(spec.columns)
        # A header name that is not a column but looks like one the header lacks: its
        # values would be silently lost, so a row with a value there is refused.
        misspelt: list[tuple[int, str, str]] = []
        for i, name in enumerate(header):
            if name and name not in known:
                meant = did_you_mean(name, absent)
                if meant is not None:
                    misspelt.append((i, name, meant))
        if missing:
            plural = "s" if len(missing) > 1 else ""
            hints = "".join(
                f"; did you mean {meant!r} for {name!r}?" for _, name, meant in misspelt
            )
            if not hints and any("\x00" in name for name in header):
                order = "be" if header[0].startswith("\x00") else "le"
                hints = (
                    "; the header holds NUL characters: is the file UTF-16? "
                    f"try --encoding utf-16-{order}"
                )
            found = ", ".join(_CONTROL_CHAR.sub(_escaped, name) for name in header)
            raise ImportFileError(
                f"{self.path.name}: the header lacks the required {spec.name} "
                f"column{plural} {', '.join(missing)} (found: {found}){hints}"
            )
        index: list[tuple[str, int]] = []
        for i, name in enumerate(header):
            if name in known and name not in {n for n, _ in index}:
                index.append((name, i))
        width = len(header)
        yield (0, None, None)  # header accepted; __init__ consumes this

        for lines, cells, error in records:
            start = lines[0][0]
            if error is not None:
                yield (start, None, error)
                continue
            assert cells is not None
            if not any(cells):
                continue  # a blank line, or a row of empty cells as spreadsheets leave
            if len(lines) > 1:
                why = _runaway(cells, width, index, spec.free_text)
                if why is not None:
                    # A quote opened on the first line swallowed the line breaks after it
                    # until another quote closed it: read those lines again.
                    self._replay.extendleft(reversed(lines[1:]))
                    yield (start, None, _unclosed_quote(lines, why))
                    continue
                if not all(ok for _, _, ok in lines):
                    yield (start, None, self.undecodable())
                    continue
            elif not lines[0][2]:
                yield (start, None, self.undecodable())
                continue
            if len(cells) > width:
                yield (start, None, f"{len(cells)} fields, but the header has {width}")
                continue
            n_cells = len(cells)
            if misspelt:
                wrong = [
                    f"unknown column {name!r}: did you mean {meant!r}?"
                    for i, name, meant in misspelt
                    if i < n_cells and cells[i].strip()
                ]
                if wrong:
                    yield (start, None, "; ".join(wrong))
                    continue
            fields: Fields = {}
            for name, i in index:
                value = cells[i].strip() if i < n_cells else ""
                fields[name] = value or None
            yield (start, fields, None)

    # -- JSON Lines ----------------------------------------------------------------------

    def _jsonl_rows(self) -> Iterator[Row]:
        spec = self.spec
        loads = json.loads
        for number, text, ok in self._lines():
            if not text.strip():
                continue
            if not ok:
                yield (number, None, f"invalid JSON line: {self.undecodable()}")
                continue
            try:
                obj = loads(text)
            except RecursionError:
                yield (number, None, "invalid JSON line: nested too deeply")
                continue
            except ValueError:
                yield (number, None, f"invalid JSON line: {_json_error(text)}")
                continue
            if not isinstance(obj, dict):
                yield (number, None, f"invalid JSON line: expected an object, got {json_kind(obj)}")
                continue
            fields, error = object_fields(obj, spec)
            yield (number, fields, error)


def _escaped(found: re.Match[str]) -> str:
    return f"\\x{ord(found.group()):02x}"


def _runaway(
    cells: list[str], width: int, index: list[tuple[str, int]], free_text: frozenset[str]
) -> str | None:
    """Why a record spanning lines looks like an open quote, not a multi-line field: more
    fields than the header, or a line break in a column that never holds one."""
    if len(cells) > width:
        return f"{len(cells)} fields, but the header has {width}"
    for name, i in index:
        if name not in free_text and i < len(cells) and ("\n" in cells[i] or "\r" in cells[i]):
            return f"a line break in {name}"
    return None


def _unclosed_quote(lines: list[Line], why: str) -> str:
    """The reason for a record whose quote did not close on its own line."""
    if why == "unexpected end of data":
        where = "never closes"
    else:
        where = f"runs on to line {lines[-1][0]} ({why})"
    after = "; the lines after it are read on their own" if len(lines) > 1 else ""
    return (
        f"malformed CSV record: unclosed quote: a quoted field opened on this line {where}{after}"
    )


def object_fields(obj: dict[str, Any], spec: KindSpec) -> tuple[Fields | None, str | None]:
    """One JSON object as `(fields, None)` for the kind's validator, or `(None, reason)`.

    JSON Lines files and the HTTP API both read objects here, so a value means the same
    whichever way it arrives: strings are stripped (empty means none), numbers become their
    text, a list is allowed only for list columns (tags), anything else is refused. A key
    that is not a column but looks like a misspelling of one the object lacks (`ammount`)
    refuses the object when it carries a value; other unknown keys are ignored.
    """
    lists = spec.list_columns
    fields: Fields = {}
    columns = spec.columns
    for name in columns:
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
    if len(fields) < len(obj):
        wrong = []
        for key, value in obj.items():
            if key in fields or value in (None, "", []) or key in columns:
                continue
            meant = suggest_column(key, tuple(c for c in columns if c not in obj))
            if meant is not None:
                wrong.append(f"unknown field {key!r}: did you mean {meant!r}?")
        if wrong:
            return None, "; ".join(wrong)
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


def _json_error(text: str) -> str:
    """Why `text` is not JSON, with a column that points into the line (not past its end)."""
    try:
        json.loads(text.rstrip())
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at column {exc.colno}"
    except (ValueError, RecursionError) as exc:
        return str(exc)
    return "not valid JSON"
