"""`prm import KIND FILE`: a thin wrapper around `bot.store.importer.import_path`.

stdout carries the results a script may parse: one `line N: reason` per rejected row, then
one summary line. The progress bar goes to stderr, and only when stderr is a terminal and
the file is large enough to be worth watching. Exit codes: 0 all rows accepted, 1 some rows
rejected, 2 usage or whole-file errors (nothing stored).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlalchemy.exc import SQLAlchemyError

from bot.cli.common import engine, err_console, fail, settings
from bot.store.importer import KINDS, ImportFileError, import_path
from bot.store.importer.readers import check_encoding
from bot.store.importer.run import ProgressHook, check_file, check_kind

# Below this a file imports in well under a second; a bar would only flicker.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024


@contextmanager
def _progress_bar(path: Path) -> Iterator[ProgressHook | None]:
    """A rich bar on stderr by bytes read, or None when nobody is watching."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if not err_console.is_terminal or size < PROGRESS_MIN_BYTES:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    # Rejection lines printed while the bar is live go above it; only redirect stdout when it
    # is itself a terminal, so a piped stdout keeps every rejection line.
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        redirect_stdout=sys.stdout.isatty(),
        redirect_stderr=False,
    ) as bar:
        task = bar.add_task(path.name, total=size)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def wall_clock() -> datetime:
    """The real clock: events dated more than a day after it are refused. (Not PRM_AS_OF,
    which freezes the bot's view of time, not the calendar the data was made in.)"""
    return datetime.now(UTC)


def import_file(
    kind: str = typer.Argument(..., help=f"What the file holds: {', '.join(KINDS)}."),
    file: Path = typer.Argument(
        ..., help="CSV with a header row, or JSON Lines (.jsonl / .ndjson)."
    ),
    encoding: str | None = typer.Option(
        None,
        "--encoding",
        help="The file's encoding, any Python codec (cp932 for Shift-JIS from Excel, "
        "euc_jp, utf-16 …). Default: UTF-8, with or without a BOM.",
    ),
) -> None:
    """Import partners, users, assets or events from CSV or JSON Lines.

    Safe to re-run: events are de-duplicated by event_id, the others updated by key.
    Each rejected row is printed as "line N: reason"; exit code 1 if any row was rejected.
    """
    try:
        check_kind(kind)
        check_file(file)
        check_encoding(encoding)
    except ImportFileError as exc:
        fail(str(exc))
    cfg = settings()
    eng = engine()

    def print_rejection(line: int, reason: str) -> None:
        typer.echo(f"line {line}: {reason}")

    try:
        with _progress_bar(file) as progress:
            report = import_path(
                eng,
                kind,
                file,
                cfg.tz,
                batch_size=cfg.import_batch_size,
                on_reject=print_rejection,
                progress=progress,
                encoding=encoding,
                now=wall_clock(),
            )
    except ImportFileError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0]
        fail(
            f"database error, import stopped ({type(exc).__name__}: {first}); "
            "batches already committed stay stored; re-running the import is safe"
        )
    typer.echo(f"{file.name}: {report.summary()}")
    if report.rejected:
        raise typer.Exit(1)
