"""What an import did, with exact counts and the first rejections kept for people to read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Rejections kept in memory; a file with millions of bad rows must not exhaust memory, and
# `on_reject` sees every one of them anyway. The counts stay exact.
MAX_KEPT_REJECTIONS = 1000


@dataclass
class ImportReport:
    """Counts for one file. `read = inserted + updated + duplicates + rejected` always.

    `rejections` holds the first `MAX_KEPT_REJECTIONS` (line, reason) pairs; `rejected` counts
    them all.
    """

    kind: str = ""
    path: Path | None = None
    read: int = 0
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_KEPT_REJECTIONS:
            self.rejections.append((line, reason))

    @property
    def ok(self) -> bool:
        return self.rejected == 0

    def summary(self) -> str:
        """`read 10, inserted 7, updated 0, duplicates 1, rejected 2`: the CLI's last line."""
        return (
            f"read {self.read}, inserted {self.inserted}, updated {self.updated}, "
            f"duplicates {self.duplicates}, rejected {self.rejected}"
        )
