"""Why an import stops before storing anything, and why a single row is refused."""

from __future__ import annotations


class ImportFileError(Exception):
    """The whole file cannot be imported (missing, unreadable, bad header, unknown kind).

    Raised before the first batch is written, so nothing is stored; the CLI prints the message
    as one line and exits 2.
    """


class RowRejected(Exception):
    """One row is refused; `reason` is the text shown after `line N:`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
