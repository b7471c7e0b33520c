"""The machine-readable report (kpi-spec.md "Machine-readable report"), scopes and zones.

Every expected number below is worked out by hand from the fixture, in comments.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.timeutil import parse_instant
from bot.kpi import KpiParams, Scope, build_report, compute
from tests.builders import Store

UTC = ZoneInfo("UTC")
TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
KPIS = ("funnel", "content", "deals", "reps", "retention")


def t(text: str, tz: ZoneInfo = UTC) -> datetime:
    return parse_instant(text, tz, allow_date=True)


def report(engine, p: KpiParams) -> dict:
    with engine.connect() as conn:
        return build_report(conn, p)


def kpi(engine, name: str, p: KpiParams) -> dict:
    with engine.connect() as conn:
        return compute(name, conn, p)


def instant_in_zone(text: str, instant: datetime, offset_hours: float) -> None:
    value = datetime.fromisoformat(text)
    assert value == instant
    assert value.utcoffset() == timedelta(hours=offset_hours)


# --- the report's frame -----------------------------------------------------------------


def test_report_frame_matches_the_spec_example(engine):
    # spec: as_of 2026-11-01T00:00:00+09:00, default period from = to − 30 days
    Store(engine, TOKYO).partner("acme", "2026-01-01").user("acme-1", "acme", "2026-01-01")
    p = KpiParams.build(as_of=t("2026-11-01", TOKYO), tz=TOKYO)
    result = report(engine, p)
    assert result["as_of"] == "2026-11-01T00:00:00+09:00"
    assert result["period"] == {
        "from": "2026-10-02T00:00:00+09:00",
        "to": "2026-11-01T00:00:00+09:00",
    }
    assert result["cohort_size"] == 1
    for name in KPIS:
        assert name in result
    assert [w["months"] for w in result["retention"]["windows"]] == [3, 6, 12]


def test_default_period_is_thirty_local_days_across_a_dst_change(engine):
    # New York leaves DST on 2026-11-01: 30 local days before 2026-11-05 00:00 EST is
    # 2026-10-06 00:00 EDT (-04:00), i.e. 30 days and one hour earlier in UTC
    Store(engine).partner("acme", "2026-01-01")
    p = KpiParams.build(as_of=t("2026-11-05", NEW_YORK), tz=NEW_YORK)
    result = report(engine, p)
    assert result["as_of"] == "2026-11-05T00:00:00-05:00"
    assert result["period"] == {
        "from": "2026-10-06T00:00:00-04:00",
        "to": "2026-11-05T00:00:00-05:00",
    }


def test_report_objects_equal_the_single_kpis(engine):
    s = Store(engine).asset("deck", "onboarding")
    s.partner("acme", "2025-01-01").user("acme-a", "acme").user("acme-b", "acme")
    s.partner("globex", "2025-06-01").user("globex-a", "globex")
    s.event("user.login", "2026-03-10", "acme", "acme-a")
    s.event("content.downloaded", "2026-03-11", "acme", "acme-a", "deck")
    s.event("lead.registered", "2026-03-12", "acme", "acme-b", "L")
    s.event("deal.registered", "2026-03-13", "acme", "acme-b", "D")
    s.event("deal.won", "2026-03-14", "acme", "acme-b", "D")
    p = KpiParams.build(as_of=t("2026-04-01"))
    result = report(engine, p)
    instant_in_zone(result["as_of"], t("2026-04-01"), 0)
    instant_in_zone(result["period"]["from"], t("2026-03-02"), 0)  # 30 days before
    instant_in_zone(result["period"]["to"], t("2026-04-01"), 0)
    assert result["cohort_size"] == 2
    for name in KPIS:
        assert result[name] == kpi(engine, name, p), name
    # a few numbers, by hand: acme reached all 7 steps, globex stuck at registered
    assert [s["reached"] for s in result["funnel"]["steps"]] == [2, 2, 1, 1, 1, 1, 1]
    assert result["deals"]["registered"] == 1
    assert result["deals"]["not_activated"] == ["globex"]
    assert result["content"]["onboarding_reach"] == pytest.approx(1 / 2)
    assert result["retention"]["dormant"] == ["globex"]


def test_empty_database_report_is_zeros_nulls_and_empty_lists(engine):
    result = report(engine, KpiParams.build(as_of=t("2026-04-01")))
    assert result["cohort_size"] == 0
    assert all(s["reached"] == 0 for s in result["funnel"]["steps"])
    assert result["funnel"]["bottleneck"] is None
    c = result["content"]
    assert (c["downloads"], c["unique_users"], c["unique_partners"]) == (0, 0, 0)
    assert (c["onboarding_reach"], c["assets"], c["never_downloaded"]) == (None, [], [])
    d = result["deals"]
    assert (d["registered"], d["activated"], d["newly_activated"]) == (0, 0, 0)
    assert (d["activation_rate"], d["by_partner"], d["not_activated"]) == (None, [], [])
    r = result["reps"]
    assert (r["per_rep_leads"], r["per_rep_deals"], r["top20_deal_share"]) == (None,) * 3
    assert (r["active_reps"], r["reps"]) == (0, [])
    assert [(w["eligible"], w["retained"], w["rate"]) for w in result["retention"]["windows"]] == [
        (0, 0, None)
    ] * 3
    assert result["retention"]["dormant"] == []


# --- scopes: they narrow the cohort and the events counted --------------------------------


@pytest.fixture
def program(engine) -> Store:
    s = Store(engine).asset("deck", "onboarding")
    partners = [
        # key, tier, manager, signed, downloads in March
        ("acme", "gold", "U1", "2025-01-10", 1),
        ("globex", "silver", "U1", "2025-06-10", 2),
        ("initech", "gold", "U2", "2025-11-10", 3),
        ("hooli", "silver", "U2", "2026-02-10", 4),
        ("later", "gold", "U1", "2026-05-01", 5),  # signed after as_of: never in a cohort
    ]
    for key, tier, manager, signed, downloads in partners:
        s.partner(key, signed, tier=tier, manager=manager).user(f"{key}-1", key, signed)
        # initech is active only on 2026-03-01, before the dormant window [03-02, 04-01)
        day = "2026-03-01" if key == "initech" else "2026-03-20"
        for i in range(downloads):
            s.event("content.downloaded", f"{day}T0{i}:00:00Z", key, f"{key}-1", "deck")
        s.event("lead.registered", f"{day}T10:00:00Z", key, f"{key}-1", "L")
        if key != "hooli":  # hooli never registers a deal
            s.event("deal.registered", f"{day}T11:00:00Z", key, f"{key}-1", "D")
    return s


SCOPES = {
    # name: (scope, cohort keys, downloads, deals registered, dormant)
    "all": (Scope(), ["acme", "globex", "hooli", "initech"], 1 + 2 + 4 + 3, 3, ["initech"]),
    "partner": (Scope(partner_key="acme"), ["acme"], 1, 1, []),
    "manager": (Scope(manager_slack_id="U1"), ["acme", "globex"], 1 + 2, 2, []),
    "tier": (Scope(tier="gold"), ["acme", "initech"], 1 + 3, 2, ["initech"]),
    "silver": (Scope(tier="silver"), ["globex", "hooli"], 2 + 4, 1, []),
    # signed_from inclusive (globex signed exactly 2025-06-10), signed_to exclusive
    # (initech signed exactly 2025-11-10)
    "signed-range": (
        Scope(signed_from=t("2025-06-10"), signed_to=t("2025-11-10")),
        ["globex"],
        2,
        1,
        [],
    ),
    "manager-and-tier": (Scope(manager_slack_id="U2", tier="gold"), ["initech"], 3, 1, ["initech"]),
    "partner-signed-later": (Scope(partner_key="later"), [], 0, 0, []),
    "unknown-partner": (Scope(partner_key="nobody"), [], 0, 0, []),
}


@pytest.mark.parametrize("name", list(SCOPES))
def test_scope(engine, program, name):
    scope, keys, downloads, deals_registered, dormant = SCOPES[name]
    p = KpiParams.build(
        as_of=t("2026-04-01"), period_from=t("2026-03-01"), period_to=t("2026-04-01"), scope=scope
    )
    result = report(engine, p)
    n = len(keys)
    assert result["cohort_size"] == n
    # funnel: every cohort partner signed and registered; all downloaded without logging in
    steps = {s["key"]: s for s in result["funnel"]["steps"]}
    assert steps["signed"]["reached"] == n
    assert steps["registered"]["reached"] == n
    assert steps["logged_in"]["reached"] == 0
    # content: every cohort partner downloaded deck in March (the counts are in SCOPES)
    c = result["content"]
    assert c["downloads"] == downloads
    assert c["unique_users"] == n
    assert c["unique_partners"] == n
    assert [(a["key"], a["downloads"]) for a in c["assets"]] == [("deck", downloads)]
    assert c["onboarding_reach"] == (pytest.approx(1.0) if n else None)
    # deals: one each, except hooli
    d = result["deals"]
    assert d["registered"] == deals_registered
    assert [row["key"] for row in d["by_partner"]] == keys
    assert d["activated"] == deals_registered
    assert d["newly_activated"] == deals_registered  # everyone's first deal is in March
    assert d["not_activated"] == [k for k in keys if k == "hooli"]
    assert d["activation_rate"] == (pytest.approx(deals_registered / n) if n else None)
    # reps: one per partner, one lead each
    r = result["reps"]
    assert [row["key"] for row in r["reps"]] == [f"{k}-1" for k in keys]
    assert r["per_rep_leads"] == (pytest.approx(1.0) if n else None)
    assert r["active_reps"] == n
    # retention: dormant partners among the cohort
    assert result["retention"]["dormant"] == dormant


def test_scope_narrows_the_retention_cohort(engine, program):
    # as_of 2026-04-01; signed: acme 2025-01-10, globex 2025-06-10, initech 2025-11-10,
    # hooli 2026-02-10. Eligible: N=3 signed ≤ 2026-01-01, N=6 ≤ 2025-10-01, N=12 ≤ 2025-04-01.
    # Nobody is retained: all activity is in March, none in February (W1).
    p = KpiParams.build(as_of=t("2026-04-01"))
    windows = report(engine, p)["retention"]["windows"]
    # all: N=3 acme globex initech, N=6 acme globex, N=12 acme
    assert [(w["eligible"], w["retained"]) for w in windows] == [(3, 0), (2, 0), (1, 0)]
    p = KpiParams.build(as_of=t("2026-04-01"), scope=Scope(tier="gold"))
    windows = report(engine, p)["retention"]["windows"]
    # gold (acme, initech): N=3 both, N=6 acme, N=12 acme
    assert [(w["eligible"], w["retained"]) for w in windows] == [(2, 0), (1, 0), (1, 0)]


# --- zones and offsets --------------------------------------------------------------------


@pytest.fixture
def tokyo_store(engine) -> Store:
    s = Store(engine, TOKYO).asset("deck", "onboarding")
    # plain dates are Tokyo midnights: 2026-03-31 JST = 2026-03-30T15:00Z
    s.partner("jp-in", "2026-03-31").user("jp-in-1", "jp-in", "2026-03-31")
    # 2026-04-01 JST = 2026-03-31T15:00Z: exactly the Tokyo as_of
    s.partner("jp-edge", "2026-04-01").user("jp-edge-1", "jp-edge", "2026-04-01")
    dl = "content.downloaded"
    s.event("user.login", "2026-03-31T23:00:00+09:00", "jp-in", "jp-in-1")
    s.event(dl, "2026-03-01", "jp-in", "jp-in-1", "deck")  # 02-28T15:00Z
    s.event(dl, "2026-02-28T23:00:00Z", "jp-in", "jp-in-1", "deck")  # 03-01 08:00 JST
    s.event(dl, "2026-02-28T14:59:59Z", "jp-in", "jp-in-1", "deck")  # 02-28 23:59:59 JST
    s.event(dl, "2026-04-01T08:30:00+09:00", "jp-in", "jp-in-1", "deck")  # 03-31T23:30Z
    s.event(dl, "2026-03-31T14:59:59.999999Z", "jp-in", "jp-in-1", "deck")  # 1µs before
    s.event(dl, "2026-03-31T15:00:00Z", "jp-in", "jp-in-1", "deck")  # 04-01 00:00 JST
    s.event(dl, "2026-03-31T16:00:00Z", "jp-edge", "jp-edge-1", "deck")
    return s


def test_plain_dates_in_a_non_utc_zone(engine, tokyo_store):
    p = KpiParams.build(as_of=t("2026-04-01", TOKYO), period_from=t("2026-03-01", TOKYO), tz=TOKYO)
    result = report(engine, p)
    assert result["as_of"] == "2026-04-01T00:00:00+09:00"
    assert result["period"] == {
        "from": "2026-03-01T00:00:00+09:00",
        "to": "2026-04-01T00:00:00+09:00",
    }
    # cohort: jp-in (signed 03-31 JST); jp-edge signed exactly at as_of -> out
    assert result["cohort_size"] == 1
    # period [02-28T15:00Z, 03-31T15:00Z): 02-28T15:00Z (at from), 02-28T23:00Z,
    # 03-31T14:59:59.999999Z -> 3. Out: 02-28T14:59:59Z (before), 03-31T15:00Z (= to),
    # 2026-04-01T08:30+09:00 (after), and jp-edge's (not in the cohort)
    assert result["content"]["downloads"] == 3
    # funnel: signed, registered (03-30T15Z), logged in (03-31T14:00Z), downloaded
    assert [s["reached"] for s in result["funnel"]["steps"]] == [1, 1, 1, 1, 0, 0, 0]
    assert result["funnel"]["steps"][3]["stuck"] == 1


def test_mixed_offsets_in_a_utc_report(engine, tokyo_store):
    # same data read in UTC: as_of 2026-04-01T00:00Z, period [03-01T00:00Z, 04-01T00:00Z)
    p = KpiParams.build(as_of=t("2026-04-01"), period_from=t("2026-03-01"))
    result = report(engine, p)
    instant_in_zone(result["period"]["from"], t("2026-03-01"), 0)
    # plain dates are read in the report's zone, now UTC: jp-in signed 03-31T00:00Z (in),
    # jp-edge 04-01T00:00Z = as_of (out) -> 1
    assert result["cohort_size"] == 1
    # in [03-01Z, 04-01Z): jp-in 03-31T14:59:59.999999Z, 03-31T15:00Z, 03-31T23:30Z
    # (= 2026-04-01T08:30+09:00) -> 3; jp-edge's 03-31T16:00Z is outside the cohort.
    # out: 02-28T15:00Z, 02-28T23:00Z, 02-28T14:59:59Z
    assert result["content"]["downloads"] == 3
    assert result["content"]["unique_partners"] == 1


def test_plain_dates_follow_the_reporting_zone(engine):
    """One store, two zones: a signing date is midnight wherever the report is read."""
    Store(engine).partner("p", "2026-04-01").user("p-1", "p", "2026-04-01")
    as_of = t("2026-03-31T20:00:00Z")  # 2026-04-01 05:00 in Tokyo, still March 31 in UTC
    assert report(engine, KpiParams.build(as_of=as_of))["cohort_size"] == 0
    tokyo = report(engine, KpiParams.build(as_of=as_of, tz=TOKYO))
    assert tokyo["cohort_size"] == 1  # midnight JST = 2026-03-31T15:00Z < as_of
    # registered at the same Tokyo midnight, 5 h before as_of
    assert [st["reached"] for st in tokyo["funnel"]["steps"]][:3] == [1, 1, 0]
    assert tokyo["funnel"]["steps"][1]["stuck_max_days"] == pytest.approx(5 / 24)
