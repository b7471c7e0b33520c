"""`prm kpi`: the KPIs as tables for people (by name), or JSON/CSV for machines (by key).

Thin: parse the flags into `KpiParams`, check the scope, call the engine, render.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import orjson
import typer
from rich.console import Console
from sqlalchemy import Engine

from bot.cli import tables
from bot.cli.common import fail, read_engine, settings
from bot.core.timeutil import TimeParseError, parse_user_instant
from bot.kpi import KPI_NAMES, KpiParams, Scope, compute
from bot.kpi.lookup import ScopeError, check_scope
from bot.kpi.params import params_from_settings
from bot.kpi.registry import EXTRA_KPIS, build_report_concurrently, report_header
from bot.store.content import catalogue
from bot.store.partners import partner_names, rep_names


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def kpi(
    name: str = typer.Argument(
        "all",
        help=f"Which KPI: {', '.join(KPI_NAMES)}, all, or nudge_lift (nudged vs holdout reps).",
        show_default=True,
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Report as of this instant (date or ISO-8601). Default: now."
    ),
    period_from: str | None = typer.Option(
        None, "--from", help="Period start, inclusive (date = local midnight)."
    ),
    period_to: str | None = typer.Option(
        None, "--to", help="Period end, exclusive. Default: as-of."
    ),
    last: str | None = typer.Option(
        None, "--last", help="Period length back from --to: 30d, 12w or 3m."
    ),
    partner: str | None = typer.Option(None, "--partner", help="Only this partner (key)."),
    manager: str | None = typer.Option(
        None, "--manager", help="Only partners of this manager (Slack id)."
    ),
    tier: str | None = typer.Option(None, "--tier", help="Only partners of this tier."),
    signed_from: str | None = typer.Option(
        None, "--signed-from", help="Only partners signed on or after this date."
    ),
    signed_to: str | None = typer.Option(
        None, "--signed-to", help="Only partners signed before this date (exclusive)."
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
    keys: bool = typer.Option(
        False, "--keys", help="Tables: show each partner's, rep's and asset's key beside its name."
    ),
) -> None:
    """Compute one KPI, or all of them, over the cohort of signed partners.

    Tables name partners, reps and assets (--keys adds their keys); JSON and CSV carry keys.
    """
    if name not in (*KPI_NAMES, *EXTRA_KPIS, "all"):
        fail(f"unknown KPI {name!r}: choose one of {', '.join((*KPI_NAMES, *EXTRA_KPIS))}, all")
    conf = settings()
    tz = conf.tz

    def when(flag: str, text: str | None):
        if text is None:
            return None
        try:
            return parse_user_instant(text, tz)
        except TimeParseError as exc:
            fail(f"{flag}: {exc}")

    try:
        params = params_from_settings(
            conf,
            as_of=when("--as-of", as_of),
            period_from=when("--from", period_from),
            period_to=when("--to", period_to),
            last=last,
            scope=Scope(
                partner_key=partner,
                manager_slack_id=manager,
                tier=tier,
                signed_from=when("--signed-from", signed_from),
                signed_to=when("--signed-to", signed_to),
            ),
        )
    except ValueError as exc:
        fail(str(exc))
    show_report(read_engine(), params, name, fmt.value, keys=keys, currency=conf.currency)


def show_report(
    eng: Engine,
    params: KpiParams,
    name: str = "all",
    fmt: str = "table",
    *,
    keys: bool = False,
    currency: str | None = None,
) -> None:
    """Print one KPI or the whole report; the demo and the CLI share it."""
    with eng.connect() as conn:
        try:
            check_scope(conn, params.scope)
        except ScopeError as exc:
            fail(str(exc))
        if name != "all":
            report = {**report_header(conn, params), name: compute(name, conn, params)}
            names: tuple[str, ...] = (name,)
    if name == "all":
        report = build_report_concurrently(eng, params)
        names = KPI_NAMES

    if fmt == "json":
        payload: dict[str, Any] = report if name == "all" else report[name]
        # orjson: the L report (100k reps) encodes in 20 ms instead of 150 ms.
        typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
    elif fmt == "csv":
        head = {k: v for k, v in report.items() if k not in KPI_NAMES and k not in EXTRA_KPIS}
        # For people's spreadsheets: would-be formulas in keys are neutralised (tables.py).
        csv_text = tables.csv_report({"report": head, **{n: report[n] for n in names}})
        typer.echo(csv_text, nl=False)
    else:
        console = Console(highlight=False)
        if not console.is_terminal:  # a pipe or a file: wide enough for every table
            console = Console(highlight=False, width=110)
        namer = named(eng, report, names, keys, currency, params.coaching_min_leads)
        console.print(tables.render(report, names, namer))


def named(
    eng: Engine,
    report: dict[str, Any],
    names: tuple[str, ...],
    keys: bool,
    currency: str | None,
    min_leads: int = 0,
) -> tables.Namer:
    """The names of what the tables show: a first rendering records the keys on screen,
    then only those are looked up (a cohort of 100k reps shows 15 of them)."""
    recorder = tables.Namer(min_leads=min_leads)  # the same rows as the real rendering
    tables.render(report, names, recorder)
    wanted = recorder.wanted
    with eng.connect() as conn:
        assets = {row.key: row.title for row in catalogue(conn, None)} if wanted["assets"] else {}
        return tables.Namer(
            partners=partner_names(conn, wanted["partners"]),
            reps=rep_names(conn, wanted["reps"]),
            assets=assets,
            show_keys=keys,
            currency=currency or settings().currency,
            min_leads=min_leads,
        )
