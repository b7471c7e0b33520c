"""Build the demo database: generate the four files, import them the way a user would.

Why through the importer and not straight inserts: the demo then exercises the same path a
real program's data takes (validation, time zones, de-duplication), and a generator bug
shows up as a rejected row instead of a silently odd KPI.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.demo.generator import ARTICLE_PARTNER_KEY, KINDS, GenerationSummary, generate
from bot.store.demo_mark import mark_demo
from bot.store.engine import get_engine
from bot.store.importer import ImportReport, import_path
from bot.store.schema import upgrade

Status = Callable[[str], None]


class DemoError(RuntimeError):
    """The demo cannot be built; the message says why, for people."""


@dataclass(frozen=True)
class DemoBuild:
    engine: Engine
    url: str
    generated: GenerationSummary
    imports: dict[str, ImportReport]


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL for a file path, relative paths kept relative (for hints)."""
    return f"sqlite:///{path}"


def is_demo_database(path: Path) -> bool:
    """True when `path` is a SQLite file holding the demo's article partner (older demo
    files carry no mark: bot.store.demo_mark).

    The demo deletes its old file before rebuilding; this keeps `--db prm.db` from wiping a
    real database by mistake.
    """
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            row = conn.execute(
                "SELECT 1 FROM partner WHERE key = ?", (ARTICLE_PARTNER_KEY,)
            ).fetchone()
    except sqlite3.Error:
        return False
    return row is not None


def remove_database(path: Path) -> None:
    """Delete a demo database and its WAL side files, refusing anything else."""
    if path.exists() and path.stat().st_size > 0 and not is_demo_database(path):
        raise DemoError(
            f"{path} exists and is not a demo database; choose another --db or remove it yourself"
        )
    get_engine(sqlite_url(path)).dispose()  # no pooled connection may outlive the file
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def build_demo(
    path: Path,
    *,
    partners: int,
    seed: int,
    end: datetime,
    tz: ZoneInfo,
    batch_size: int = 5000,
    status: Status = lambda _msg: None,
) -> DemoBuild:
    """(Re)create the SQLite file at `path` with a generated program ending at `end`."""
    remove_database(path)
    url = sqlite_url(path)
    engine = get_engine(url)
    upgrade(engine)
    mark_demo(engine)  # made-up Slack ids: the jobs refuse to message it (PRM_DEMO_SEND)
    imports: dict[str, ImportReport] = {}
    with TemporaryDirectory(prefix="prm-demo-") as tmp:
        generated = generate(tmp, partners=partners, end=end, seed=seed)
        status(generated.describe().replace(f" to {tmp}", ""))
        for kind in KINDS:
            report = import_path(engine, kind, generated.files[kind], tz, batch_size=batch_size)
            if report.rejected:
                line, reason = report.rejections[0] if report.rejections else (0, "?")
                raise DemoError(
                    f"the importer rejected {report.rejected} generated {kind} rows "
                    f"(first: line {line}: {reason}); this is a bug in the demo generator"
                )
            imports[kind] = report
            status(f"imported {kind}: {report.summary()}")
    return DemoBuild(engine, url, generated, imports)
