"""`prm import KIND FILE` (being written)."""

from __future__ import annotations

import typer


def import_file(kind: str = typer.Argument(...), file: str = typer.Argument(...)) -> None:
    """Import partners, users, assets or events from CSV or JSON Lines."""
    raise typer.Exit(3)
