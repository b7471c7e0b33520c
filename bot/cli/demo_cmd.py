"""`prm demo`: a believable partner program in its own SQLite file, and its five KPIs.

`prm demo` alone is the thirty-second tour: it never touches the configured database
(`PRM_DATABASE_URL`), so trying it is safe. `prm demo generate` writes the exchange files
instead, for importing elsewhere or for the benchmark.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from bot.cli.common import err_console, fail, settings
from bot.cli.kpi_cmd import show_report
from bot.core.timeutil import TimeParseError, parse_user_instant, to_local_iso
from bot.demo.generator import (
    ARTICLE_PARTNER_KEY,
    DEFAULT_SEED,
    FORMATS,
    end_of_minute_before,
    generate,
)
from bot.kpi.params import params_from_settings

DEFAULT_DEMO_DB = Path("prm-demo.db")
DEFAULT_DEMO_PARTNERS = 50

app = typer.Typer(
    help="Build the demo partner program and show its KPIs.",
    invoke_without_command=True,
)


def _status(message: str) -> None:
    err_console.print(message, markup=False)


def _venv_prm() -> str:
    """The `prm` beside this interpreter (as `make demo` runs it), as short as it can be."""
    script = Path(sys.executable).parent / "prm"
    relative = os.path.relpath(script)
    return relative if len(relative) < len(str(script)) else str(script)


@app.callback()
def demo(
    ctx: typer.Context,
    db: Path = typer.Option(
        DEFAULT_DEMO_DB, "--db", help="The demo's own SQLite file; rebuilt from scratch."
    ),
    partners: int = typer.Option(
        DEFAULT_DEMO_PARTNERS, "--partners", min=2, max=5000, help="How many partners."
    ),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Same seed, same program."),
) -> None:
    """Build (or rebuild) a demo database of about 50 partners and show its five KPIs.

    The data ends now; the configured database (PRM_DATABASE_URL) is not touched.
    """
    if ctx.invoked_subcommand is not None:
        return
    from bot.demo.build import DemoError, build_demo  # the importer: only when building

    conf = settings()
    now = datetime.now(UTC).replace(microsecond=0)  # whole seconds: the hint can repeat it
    end = end_of_minute_before(now)
    try:
        params = params_from_settings(conf, as_of=now)
    except ValueError as exc:
        fail(str(exc))
    _status(f"building {db}: {partners} partners, seed {seed}, data up to {end:%Y-%m-%d %H:%M} UTC")
    try:
        built = build_demo(
            db,
            partners=partners,
            seed=seed,
            end=end,
            tz=conf.tz,
            batch_size=conf.import_batch_size,
            status=_status,
        )
    except DemoError as exc:
        fail(str(exc))
    show_report(built.engine, params, keys=True)  # keys too: the hints below use them
    built.engine.dispose()  # closes the file cleanly: no -wal/-shm left beside it
    prm = "prm" if shutil.which("prm") else _venv_prm()
    typer.echo(
        f"\nExplore it: PRM_DATABASE_URL={built.url} {prm} kpi reps --partner {ARTICLE_PARTNER_KEY}"
        f"\n            PRM_DATABASE_URL={built.url} {prm} kpi funnel --as-of "
        f"{to_local_iso(now, conf.tz)}"
        f"\n            PRM_DATABASE_URL={built.url} {prm} jobs run coaching-alerts --dry-run"
        f"\n(Its Slack ids are made up: the scheduler never messages it unless PRM_DEMO_SEND=true.)"
    )


@app.command("generate")
def generate_cmd(
    out: Path = typer.Option(..., "--out", help="Directory for the four files."),
    partners: int = typer.Option(
        DEFAULT_DEMO_PARTNERS, "--partners", min=1, help="≈500 events and ≈10 reps each."
    ),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Same seed and end, same files."),
    end: str | None = typer.Option(
        None, "--end", help="Export instant (ISO-8601 or date). Default: now, to the minute."
    ),
    fmt: str = typer.Option("csv", "--format", help="csv or jsonl."),
) -> None:
    """Write partners, users, assets and events files of a generated partner program."""
    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}")
    tz = settings().tz
    try:
        end_at = parse_user_instant(end, tz) if end else end_of_minute_before()
    except TimeParseError as exc:
        fail(f"--end: {exc}")
    _status(f"generating {partners} partners (seed {seed}, end {to_local_iso(end_at, tz)})")
    summary = generate(out, partners=partners, end=end_at, seed=seed, fmt=fmt)
    for kind, path in summary.files.items():
        typer.echo(f"{path}: {summary.counts[kind]:,} {kind}")
