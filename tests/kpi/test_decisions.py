"""deal.approved / deal.rejected are events, but not partner activity: they change none of
the five KPIs (a partner whose only recent event is a manager's decision is dormant)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.kpi import KpiParams, build_report
from tests.builders import Store

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def report(engine):
    with engine.connect() as conn:
        return build_report(conn, KpiParams.build(as_of=AS_OF))


def test_decisions_change_no_kpi(engine):
    s = Store(engine)
    s.partner("acme", "2025-01-01").user("acme-a", "acme", "2025-01-02")
    s.event("deal.registered", "2026-06-01T00:00:00Z", "acme", "acme-a")
    before = report(engine)
    assert before["retention"]["dormant"] == ["acme"]
    s.event("deal.approved", "2026-10-20T00:00:00Z", "acme", "acme-a")
    s.event("deal.rejected", "2026-10-21T00:00:00Z", "acme", "acme-a")
    after = report(engine)
    assert after == before  # still dormant; every figure unchanged
