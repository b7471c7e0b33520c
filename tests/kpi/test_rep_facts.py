"""`cohort_reps`: the reps the next-action job speaks to are the KPI cohort's registered
users, on SQLite and, with PRM_TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.kpi import KpiParams, Scope
from bot.kpi.rep_facts import cohort_reps
from tests.builders import Store

AS_OF = datetime(2026, 11, 15, tzinfo=UTC)


def test_registered_users_of_signed_partners_in_scope_by_key(engine):
    (
        Store(engine)
        .partner("acme", "2025-01-01", name="Acme Corp", manager="UM1")
        .partner("globex", "2025-01-01", manager="UM2")
        .partner("later", "2026-12-01")  # signs after as_of
        .user("acme-b", "acme", "2025-02-01", slack_user_id="UB", locale="ja")
        .user("acme-a", "acme", "2025-02-01", name="Aki")
        .user("acme-new", "acme", "2026-11-15")  # registers on as_of: not yet
        .user("globex-a", "globex", "2025-03-01")
        .user("later-a", "later", "2025-03-01")
    )
    with engine.connect() as conn:
        everyone = cohort_reps(conn, KpiParams.build(as_of=AS_OF))
        um1 = cohort_reps(conn, KpiParams.build(as_of=AS_OF, scope=Scope(manager_slack_id="UM1")))
    assert [r.key for r in everyone] == ["acme-a", "acme-b", "globex-a"]
    assert [r.key for r in um1] == ["acme-a", "acme-b"]
    b = um1[1]
    assert (b.name, b.slack_user_id, b.locale, b.tips_off) == ("acme-b", "UB", "ja", False)
    assert (b.partner_key, b.partner_name, b.partner_channel) == ("acme", "Acme Corp", None)
    assert um1[0].name == "Aki"
