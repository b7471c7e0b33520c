"""KPI 3, `deals`: deal registration and activation (kpi-spec.md §3).

Every expected number below is worked out by hand from the fixture, in comments.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.core.timeutil import parse_instant
from bot.kpi import KpiParams, Scope, compute
from tests.builders import Store

UTC = ZoneInfo("UTC")
DEAL = "deal.registered"


def t(text: str, tz: ZoneInfo = UTC):
    return parse_instant(text, tz, allow_date=True)


def params(as_of: str, frm: str, to: str, **kw) -> KpiParams:
    return KpiParams.build(as_of=t(as_of), period_from=t(frm), period_to=t(to), **kw)


def deals(engine, p: KpiParams) -> dict:
    with engine.connect() as conn:
        return compute("deals", conn, p)


def by_partner(result: dict) -> list[tuple[str, int]]:
    return [(row["key"], row["registered"]) for row in result["by_partner"]]


@pytest.fixture
def pipeline(engine) -> Store:
    s = Store(engine)
    for key in ("umbrella", "stark", "initech", "hooli", "globex", "acme"):  # any order
        s.partner(key, "2025-01-01").user(f"{key}-1", key)
    s.partner("outside", "2026-05-01").user("outside-1", "outside")  # signed after as_of
    # acme: an old deal (first ever, 2026-01-10), then two in the period that carry the
    # same deal id: counting is per event, so both count
    s.event(DEAL, "2026-01-10T00:00:00Z", "acme", "acme-1", "D-0")
    s.event(DEAL, "2026-03-10T00:00:00Z", "acme", "acme-1", "D-1")
    s.event(DEAL, "2026-03-11T00:00:00Z", "acme", "acme-1", "D-1")
    s.event("deal.won", "2026-03-12T00:00:00Z", "acme", "acme-1", "D-1")  # not a registration
    s.event("lead.registered", "2026-03-12T00:00:00Z", "acme", "acme-1", "L-1")  # nor this
    # globex: first deal ever in the period -> newly activated
    s.event(DEAL, "2026-03-15T00:00:00Z", "globex", "globex-1", "D-2")
    # hooli: first deal exactly at `from` -> in the period, newly activated
    s.event(DEAL, "2026-03-01T00:00:00Z", "hooli", "hooli-1", "D-3")
    # stark: one deal 1µs before `from` -> activated, not in the period, not new
    s.event(DEAL, "2026-02-28T23:59:59.999999Z", "stark", "stark-1", "D-4")
    # umbrella: its only deal is exactly at as_of = to -> not counted, not activated
    s.event(DEAL, "2026-04-01T09:00:00+09:00", "umbrella", "umbrella-1", "D-5")
    # initech: no deals at all
    # outside: a deal in the period, but not a cohort partner
    s.event(DEAL, "2026-03-20T00:00:00Z", "outside", "outside-1", "D-6")
    return s


def test_registered_activation_and_lists(engine, pipeline):
    result = deals(engine, params("2026-04-01", "2026-03-01", "2026-04-01"))
    # cohort: acme globex hooli initech stark umbrella = 6 (outside signed later)
    # in [03-01, 04-01): acme 2 (same deal id, 2 events), globex 1, hooli 1 (at `from`)
    assert result["registered"] == 4
    assert by_partner(result) == [
        ("acme", 2),
        ("globex", 1),
        ("hooli", 1),
        ("initech", 0),
        ("stark", 0),
        ("umbrella", 0),
    ]
    # activated (a deal before as_of): acme, globex, hooli, stark = 4; umbrella's is at as_of
    assert result["activated"] == 4
    assert result["activation_rate"] == pytest.approx(4 / 6)
    # first deal ever in the period: globex (03-15), hooli (03-01). acme's first is
    # 2026-01-10, stark's 02-28; outside is not in the cohort
    assert result["newly_activated"] == 2
    assert result["not_activated"] == ["initech", "umbrella"]


def test_newly_activated_in_an_earlier_period(engine, pipeline):
    # period [2026-02-01, 2026-03-01), as_of still 2026-04-01
    result = deals(engine, params("2026-04-01", "2026-02-01", "2026-03-01"))
    # in the period: stark's deal at 02-28T23:59:59.999999 only
    assert result["registered"] == 1
    assert by_partner(result) == [
        ("acme", 0),
        ("globex", 0),
        ("hooli", 0),
        ("initech", 0),
        ("stark", 1),
        ("umbrella", 0),
    ]
    # first deal ever in February: stark only (acme's first is January)
    assert result["newly_activated"] == 1
    # activation is as of as_of, not the period: unchanged 4 / 6
    assert result["activated"] == 4
    assert result["activation_rate"] == pytest.approx(4 / 6)
    assert result["not_activated"] == ["initech", "umbrella"]


def test_as_of_later_activates_umbrella(engine, pipeline):
    # as_of 1µs after umbrella's deal; period [03-01, 04-01) unchanged
    p = params("2026-04-01T00:00:00.000001Z", "2026-03-01", "2026-04-01")
    result = deals(engine, p)
    assert result["registered"] == 4  # umbrella's deal is at `to`: still outside the period
    assert result["activated"] == 5  # acme globex hooli stark umbrella
    assert result["activation_rate"] == pytest.approx(5 / 6)
    assert result["not_activated"] == ["initech"]
    # umbrella's first deal is at to: not in [from, to) -> still 2 new
    assert result["newly_activated"] == 2


def test_scope_one_partner(engine, pipeline):
    p = params("2026-04-01", "2026-03-01", "2026-04-01", scope=Scope(partner_key="acme"))
    result = deals(engine, p)
    assert result["registered"] == 2
    assert by_partner(result) == [("acme", 2)]
    assert result["activated"] == 1
    assert result["activation_rate"] == pytest.approx(1.0)
    assert result["newly_activated"] == 0
    assert result["not_activated"] == []


def test_empty_cohort(engine):
    Store(engine).partner("later", "2026-06-01")
    result = deals(engine, params("2026-04-01", "2026-03-01", "2026-04-01"))
    assert result["registered"] == 0
    assert result["activated"] == 0
    assert result["activation_rate"] is None  # 0 / 0
    assert result["newly_activated"] == 0
    assert result["by_partner"] == []
    assert result["not_activated"] == []


def test_cohort_without_deals(engine):
    Store(engine).partner("b", "2025-01-01").partner("a", "2025-01-01")
    result = deals(engine, params("2026-04-01", "2026-03-01", "2026-04-01"))
    assert result["registered"] == 0
    assert result["activated"] == 0
    assert result["activation_rate"] == 0.0  # 0 / 2
    assert by_partner(result) == [("a", 0), ("b", 0)]
    assert result["not_activated"] == ["a", "b"]
