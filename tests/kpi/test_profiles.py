"""A partner's signing instant and a rep's journey dates, read in the reporting zone, on
SQLite and, with PRM_TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.core import events
from bot.kpi import KpiParams
from bot.kpi.profiles import PartnerProfile, partner_profile, rep_milestones
from tests.builders import Store

TOKYO = ZoneInfo("Asia/Tokyo")
AS_OF = datetime(2026, 11, 15, tzinfo=UTC)


def test_a_plain_signing_date_is_midnight_in_the_reporting_zone(engine):
    Store(engine).partner("acme", "2025-01-01", name="Acme Corp", tier="gold")
    with engine.connect() as conn:
        tokyo = partner_profile(conn, KpiParams.build(as_of=AS_OF, tz=TOKYO), "acme")
        utc = partner_profile(conn, KpiParams.build(as_of=AS_OF), "acme")
    # Midnight 1 January in Tokyo is 15:00 UTC on 31 December.
    assert tokyo == PartnerProfile(
        "acme", "Acme Corp", "gold", datetime(2024, 12, 31, 15, tzinfo=UTC)
    )
    assert utc.signed_at == datetime(2025, 1, 1, tzinfo=UTC)


def test_rep_milestones_signed_registered_and_own_first_events(engine):
    (
        Store(engine)
        .partner("acme", "2025-01-01T09:00:00Z")
        .user("a", "acme", "2026-11-14")
        .user("late", "acme", "2026-11-15T00:00:01Z")
        .events(events.LOGIN, ["2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z"], "acme", "a")
        .event(events.LEAD, "2026-11-16T00:00:00Z", "acme", "a")  # after as_of
        .event(events.DOWNLOAD, "2026-11-03T00:00:00Z", "acme", "late", "guide")
    )
    p = KpiParams.build(as_of=AS_OF)
    with engine.connect() as conn:
        a = rep_milestones(conn, p, "a")
        late = rep_milestones(conn, p, "late")
    assert a == {
        "signed": datetime(2025, 1, 1, 9, tzinfo=UTC),
        "registered": datetime(2026, 11, 14, tzinfo=UTC),
        events.LOGIN: datetime(2026, 11, 1, tzinfo=UTC),
    }
    assert late["registered"] is None  # registers after as_of
    assert late[events.DOWNLOAD] == datetime(2026, 11, 3, tzinfo=UTC)
