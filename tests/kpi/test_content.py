"""KPI 2, `content`: onboarding content downloads in the period (kpi-spec.md §2).

Every expected number below is worked out by hand from the fixture, in comments.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.core.timeutil import parse_instant
from bot.kpi import KpiParams, Scope, compute
from tests.builders import Store

UTC = ZoneInfo("UTC")
DL = "content.downloaded"


def t(text: str, tz: ZoneInfo = UTC):
    return parse_instant(text, tz, allow_date=True)


def params(as_of: str, frm: str, to: str, **kw) -> KpiParams:
    return KpiParams.build(as_of=t(as_of), period_from=t(frm), period_to=t(to), **kw)


def content(engine, p: KpiParams) -> dict:
    with engine.connect() as conn:
        return compute("content", conn, p)


@pytest.fixture
def catalogue(engine) -> Store:
    s = Store(engine)
    # inserted out of key order on purpose: the report orders them, not the insert
    s.asset("retail")  # never downloaded
    s.asset("price")
    s.asset("guide", "onboarding", "sales")
    s.asset("deck", "onboarding")
    s.asset("case")
    s.partner("p1", "2025-01-01").user("u1a", "p1").user("u1b", "p1")
    s.partner("p2", "2025-01-01").user("u2a", "p2")
    s.partner("p3", "2025-01-01").user("u3a", "p3")
    s.partner("p4", "2025-01-01").user("u4a", "p4")
    s.partner("p5", "2026-04-15").user("u5a", "p5")  # signed after as_of: not in the cohort
    # period [2026-03-01, 2026-04-01), as_of 2026-04-01
    s.event(DL, "2026-03-02T10:00:00Z", "p1", "u1a", "deck")
    s.event(DL, "2026-03-02T10:00:00Z", "p1", "u1a", "deck")  # same user, same time: 2 events
    s.event(DL, "2026-03-05T10:00:00Z", "p1", "u1b", "deck")
    s.event(DL, "2026-03-31T23:59:59.999999Z", "p2", "u2a", "deck")  # 1µs before `to`
    s.event(DL, "2026-03-10T10:00:00Z", "p1", "u1a", "price")
    s.event(DL, "2026-03-01T00:00:00Z", "p2", "u2a", "case")  # exactly at `from`: in
    s.event(DL, "2026-03-01T08:59:59+09:00", "p2", "u2a", "case")  # 02-28T23:59:59Z: out
    s.event(DL, "2026-02-28T23:59:59Z", "p1", "u1a", "case")  # before the period
    s.event(DL, "2026-02-15T00:00:00Z", "p3", "u3a", "guide")  # before the period
    s.event(DL, "2026-04-01T00:00:00Z", "p4", "u4a", "deck")  # exactly at to = as_of: out
    s.event(DL, "2026-03-15T00:00:00Z", "p5", "u5a", "retail")  # not a cohort partner
    s.event("user.login", "2026-03-15T00:00:00Z", "p4", "u4a")  # not a download
    return s


def test_downloads_users_partners_assets(engine, catalogue):
    result = content(engine, params("2026-04-01", "2026-03-01", "2026-04-01"))
    # in the period, cohort only: deck u1a, u1a, u1b, u2a (4); price u1a (1); case u2a (1)
    assert result["downloads"] == 6  # 4 + 1 + 1, each event counted
    assert result["unique_users"] == 3  # u1a, u1b, u2a
    assert result["unique_partners"] == 2  # p1, p2
    # every catalogue asset, most downloaded first, ties by key ascending
    assert [(a["key"], a["downloads"], a["unique_users"]) for a in result["assets"]] == [
        ("deck", 4, 3),  # u1a ×2, u1b, u2a
        ("case", 1, 1),  # tie at 1: case < price
        ("price", 1, 1),
        ("guide", 0, 0),  # only downloaded before the period
        ("retail", 0, 0),  # only downloaded by a partner outside the cohort
    ]
    assert result["never_downloaded"] == ["guide", "retail"]
    # onboarding assets: deck, guide. Cohort p1..p4 (4). Before as_of: p1 deck, p2 deck,
    # p3 guide (2026-02-15, before the period still counts); p4's deck is at as_of -> 3/4
    assert result["onboarding_reach"] == pytest.approx(3 / 4)


def test_earlier_period_same_data(engine, catalogue):
    # period [2026-02-01, 2026-03-01): case u1a 02-28T23:59:59, case u2a 02-28T23:59:59
    # (the +09:00 one), guide u3a 02-15 -> 3 downloads, 3 users, 3 partners
    result = content(engine, params("2026-04-01", "2026-02-01", "2026-03-01"))
    assert result["downloads"] == 3
    assert result["unique_users"] == 3
    assert result["unique_partners"] == 3
    assert [(a["key"], a["downloads"], a["unique_users"]) for a in result["assets"]] == [
        ("case", 2, 2),
        ("guide", 1, 1),
        ("deck", 0, 0),
        ("price", 0, 0),
        ("retail", 0, 0),
    ]
    assert result["never_downloaded"] == ["deck", "price", "retail"]
    # onboarding reach does not depend on the period: still 3/4
    assert result["onboarding_reach"] == pytest.approx(3 / 4)


def test_onboarding_reach_uses_as_of_not_the_period(engine, catalogue):
    # as_of 1µs later: p4's deck download (at 2026-04-01T00:00Z) now counts -> 4/4.
    # p5 (signed 2026-04-15) is still outside the cohort.
    result = content(engine, params("2026-04-01T00:00:00.000001Z", "2026-03-01", "2026-04-01"))
    assert result["onboarding_reach"] == pytest.approx(1.0)
    assert result["downloads"] == 6  # the period did not move


def test_scope_narrows_downloads(engine, catalogue):
    p = params("2026-04-01", "2026-03-01", "2026-04-01", scope=Scope(partner_key="p2"))
    result = content(engine, p)
    # p2 in the period: deck u2a (03-31T23:59:59.999999), case u2a (03-01T00:00) -> 2
    assert result["downloads"] == 2
    assert result["unique_users"] == 1
    assert result["unique_partners"] == 1
    assert [(a["key"], a["downloads"]) for a in result["assets"]] == [
        ("case", 1),
        ("deck", 1),
        ("guide", 0),
        ("price", 0),
        ("retail", 0),
    ]
    assert result["never_downloaded"] == ["guide", "price", "retail"]
    assert result["onboarding_reach"] == pytest.approx(1.0)  # p2 has a deck download: 1/1


def test_no_downloads_but_a_cohort(engine):
    s = Store(engine).asset("deck", "onboarding").asset("a-intro")
    s.partner("p1", "2025-01-01").user("u1", "p1")
    result = content(engine, params("2026-04-01", "2026-03-01", "2026-04-01"))
    assert result["downloads"] == 0
    assert result["unique_users"] == 0
    assert result["unique_partners"] == 0
    assert [(a["key"], a["downloads"], a["unique_users"]) for a in result["assets"]] == [
        ("a-intro", 0, 0),
        ("deck", 0, 0),
    ]
    assert result["never_downloaded"] == ["a-intro", "deck"]
    assert result["onboarding_reach"] == 0.0  # 0 / 1


def test_empty_cohort(engine):
    Store(engine).asset("deck", "onboarding")
    result = content(engine, params("2026-04-01", "2026-03-01", "2026-04-01"))
    assert result["downloads"] == 0
    assert result["unique_users"] == 0
    assert result["unique_partners"] == 0
    assert [(a["key"], a["downloads"], a["unique_users"]) for a in result["assets"]] == [
        ("deck", 0, 0)
    ]
    assert result["never_downloaded"] == ["deck"]
    assert result["onboarding_reach"] is None  # cohort size 0


def test_empty_catalogue(engine):
    Store(engine).partner("p1", "2025-01-01")
    result = content(engine, params("2026-04-01", "2026-03-01", "2026-04-01"))
    assert result["assets"] == []
    assert result["never_downloaded"] == []
    assert result["onboarding_reach"] == 0.0
