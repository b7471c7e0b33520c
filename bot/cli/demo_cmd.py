"""`prm demo` (being written)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Build the demo partner program and show its KPIs.")
