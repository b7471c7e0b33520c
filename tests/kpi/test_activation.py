"""`newly_activated`: cohort partners whose first deal lies in [since, as_of), on SQLite
and, with PRM_TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core import events
from bot.kpi import KpiParams, Scope
from bot.kpi.activation import newly_activated
from tests.builders import Store

AS_OF = datetime(2026, 11, 15, tzinfo=UTC)
SINCE = datetime(2026, 11, 8, tzinfo=UTC)


def test_first_deal_in_the_week_under_the_cohort_filter(engine):
    (
        Store(engine)
        .partner("zeta", manager="UM1")
        .partner("acme", manager="UM1")
        .partner("old", manager="UM1")
        .partner("globex", manager="UM2")
        .partner("unsigned", None, manager="UM1")
        .event(events.DEAL, "2026-11-10T00:00:00Z", "zeta")
        .event(events.DEAL, "2026-11-08T00:00:00Z", "acme")  # at `since`: counts
        .event(events.DEAL, "2026-11-01T00:00:00Z", "old")  # first deal earlier
        .event(events.DEAL, "2026-11-09T00:00:00Z", "old")
        .event(events.DEAL, "2026-11-09T00:00:00Z", "globex")
        .event(events.DEAL, "2026-11-09T00:00:00Z", "unsigned")  # not in the cohort
        .event(events.LEAD, "2026-11-09T00:00:00Z", "old")
    )
    with engine.connect() as conn:
        mine = newly_activated(
            conn, KpiParams.build(as_of=AS_OF, scope=Scope(manager_slack_id="UM1")), SINCE
        )
        everyone = newly_activated(conn, KpiParams.build(as_of=AS_OF), SINCE)
        at_as_of = newly_activated(conn, KpiParams.build(as_of=SINCE), SINCE)
    assert mine == ["acme", "zeta"]
    assert everyone == ["acme", "globex", "zeta"]
    assert at_as_of == []
