"""The one list of KPIs that the CLI, Slack and the jobs all read from."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from bot.core.timeutil import to_local_iso
from bot.kpi.content import content
from bot.kpi.deals import deals
from bot.kpi.funnel import funnel
from bot.kpi.health import health
from bot.kpi.nudge_lift import nudge_lift
from bot.kpi.params import KpiParams
from bot.kpi.pipeline import pipeline
from bot.kpi.reps import reps
from bot.kpi.retention import retention
from bot.kpi.sql import cohort_size
from bot.kpi.tiers import tiers


@dataclass(frozen=True)
class KpiDef:
    """A KPI: its key, its compute function and its English names.

    `title` heads the KPI's section of the terminal report (`bot.cli.tables`); `label` is
    the shorter name the Slack messages use (`templates/_terms.j2`, `kpi`). Both are the
    English source strings; `label` is also a msgid of the Slack catalogs
    (`bot/slack/locales/*/LC_MESSAGES/messages.po`, see docs/translations.md).
    """

    name: str
    title: str
    compute: Callable[[Connection, KpiParams], dict[str, Any]]
    label: str = ""  # empty: the Slack messages do not show this KPI


KPIS: dict[str, KpiDef] = {
    k.name: k
    for k in (
        KpiDef("funnel", "Partner journey: step completion", funnel, "Journey step completion"),
        KpiDef(
            "content",
            "Onboarding: content downloads in the period",
            content,
            "Onboarding content downloads",
        ),
        KpiDef("deals", "Activation: deal registrations", deals, "Deal registrations (activation)"),
        KpiDef("reps", "Productivity per rep in the period", reps, "Leads and deals per rep"),
        KpiDef("retention", "Retention: continued use", retention, "Continued use (retention)"),
        KpiDef(
            "pipeline",
            "Sales impact: deal value registered and won",
            pipeline,
            "Deal value registered and won",
        ),
        KpiDef(
            "tiers",
            "Program tiers: who qualifies, and what the next level needs",
            tiers,
            "Program tiers",
        ),
    )
}
KPI_NAMES: tuple[str, ...] = tuple(KPIS)
# Beyond the spec's five: asked for by name (`prm kpi nudge_lift`), not part of `all`.
EXTRA_KPIS: dict[str, KpiDef] = {
    "nudge_lift": KpiDef("nudge_lift", "Do nudges work? Nudged reps vs the holdout", nudge_lift),
    "health": KpiDef(
        "health", "Partner health: a 0–100 score, explained", health, "Partner health"
    ),
}
# The Slack name of every KPI that has one: the templates' `kpi_labels` (bot.slack.messages).
KPI_LABELS: dict[str, str] = {
    k.name: k.label for k in (*KPIS.values(), *EXTRA_KPIS.values()) if k.label
}


def compute(name: str, conn: Connection, params: KpiParams) -> dict[str, Any]:
    """One KPI's object of the machine-readable report."""
    kpi = KPIS.get(name) or EXTRA_KPIS.get(name)
    if kpi is None:
        raise ValueError(f"unknown KPI {name!r}; choose from {', '.join(KPI_NAMES)}")
    return kpi.compute(conn, params)


def report_header(conn: Connection, params: KpiParams) -> dict[str, Any]:
    return {
        "as_of": to_local_iso(params.as_of, params.tz),
        "period": {
            "from": to_local_iso(params.period_from, params.tz),
            "to": to_local_iso(params.period_to, params.tz),
        },
        "timezone": params.tz.key,
        "cohort_size": cohort_size(conn, params),
    }


def build_report(conn: Connection, params: KpiParams) -> dict[str, Any]:
    """The whole report (kpi-spec.md, "Machine-readable report"), on one connection."""
    report = report_header(conn, params)
    for name in KPI_NAMES:
        report[name] = compute(name, conn, params)
    return report


def build_report_concurrently(
    engine: Engine, params: KpiParams, workers: int = 3
) -> dict[str, Any]:
    """The same report, its KPIs computed side by side on separate connections.

    The KPI queries are independent and spend their time in PostgreSQL backends, so on a
    multi-core machine this answers faster than `build_report`. The price: the KPIs read
    separate snapshots, so an import running at that very moment may show up in one KPI and
    not yet in another. SQLite gains nothing (each new connection starts with a cold page
    cache, which costs more than the parallelism wins), so it gets `build_report`.
    """
    if engine.dialect.name == "sqlite" or workers <= 1:
        with engine.connect() as conn:
            return build_report(conn, params)

    def run(name: str) -> dict[str, Any]:
        with engine.connect() as conn:
            return report_header(conn, params) if name == "header" else compute(name, conn, params)

    # Slowest first, so the pool finishes as early as it can.
    slow = ("funnel", "reps", "retention", "tiers")
    order = (*slow, *(k for k in KPI_NAMES if k not in slow), "header")
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prm-kpi") as pool:
        results = dict(zip(order, pool.map(run, order), strict=True))
    report = results.pop("header")
    report.update((name, results[name]) for name in KPI_NAMES)
    return report
