"""The five process KPIs and `pipeline` (kpi-spec.md), computed in SQL. No Slack, no printing.

Public API: `KpiParams`/`Scope` say what is asked; `compute(name, conn, params)` returns one
KPI's JSON object, `build_report(conn, params)` the whole machine-readable report.
"""

from bot.kpi.params import DEFAULT_ACTIVE_TYPES, DEFAULT_JOURNEY, JourneyStep, KpiParams, Scope
from bot.kpi.registry import KPI_NAMES, build_report, compute

__all__ = [
    "DEFAULT_ACTIVE_TYPES",
    "DEFAULT_JOURNEY",
    "KPI_NAMES",
    "JourneyStep",
    "KpiParams",
    "Scope",
    "build_report",
    "compute",
]
