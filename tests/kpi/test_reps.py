"""KPI 4, `reps`: productivity per person in the period (kpi-spec.md §4).

Every expected number below is worked out by hand from the fixture, in comments.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.core.timeutil import parse_instant
from bot.kpi import KpiParams, Scope, compute
from tests.builders import Store

UTC = ZoneInfo("UTC")
LEAD = "lead.registered"
DEAL = "deal.registered"


def t(text: str, tz: ZoneInfo = UTC):
    return parse_instant(text, tz, allow_date=True)


def params(as_of: str, frm: str, to: str, **kw) -> KpiParams:
    return KpiParams.build(as_of=t(as_of), period_from=t(frm), period_to=t(to), **kw)


def reps(engine, p: KpiParams) -> dict:
    with engine.connect() as conn:
        return compute("reps", conn, p)


def march(n: int, hour: int = 12) -> list[str]:
    """n distinct instants inside [2026-03-01, 2026-04-01)."""
    return [f"2026-03-{1 + i % 30:02d}T{hour:02d}:{i // 30:02d}:00Z" for i in range(n)]


def activity(s: Store, partner: str, user: str, leads: int, deals: int) -> None:
    s.events(LEAD, march(leads, 10), partner, user, "lead")
    s.events(DEAL, march(deals, 14), partner, user, "deal")


PERIOD = ("2026-04-01", "2026-03-01", "2026-04-01")


@pytest.fixture
def article(engine) -> Store:
    """The article's A/B table, plus more reps so that the median rule has work to do."""
    s = Store(engine)
    s.partner("acme", "2025-01-01")
    s.partner("globex", "2025-01-01")
    s.partner("initech", "2025-01-01")
    s.partner("outside", "2026-06-01")  # signed after as_of: its users are no reps
    s.user("acme-a", "acme").user("acme-b", "acme").user("acme-c", "acme")
    s.user("globex-c", "globex").user("globex-d", "globex").user("globex-e", "globex")
    s.user("initech-g", "initech").user("initech-h", "initech")
    s.user("initech-i", "initech", "2026-03-31T23:59:59Z")  # 1 s before `to`: a rep
    s.user("initech-late", "initech", "2026-04-01T00:00:00Z")  # at `to`: not a rep
    s.user("outside-x", "outside")
    activity(s, "acme", "acme-a", 18, 8)  # A: 8/18 = 0.4444…
    activity(s, "acme", "acme-b", 22, 3)  # B: 3/22 = 0.13636…
    activity(s, "acme", "acme-c", 0, 2)  # deals without leads: conversion null
    activity(s, "globex", "globex-c", 10, 5)  # exactly 10 leads: 0.5, counts for the median
    activity(s, "globex", "globex-d", 12, 6)  # 0.5
    activity(s, "globex", "globex-e", 9, 0)  # 9 leads: below the threshold, conversion 0.0
    activity(s, "initech", "initech-h", 20, 4)  # 0.2
    activity(s, "outside", "outside-x", 30, 30)  # not a cohort partner
    # outside the period: not counted
    s.event(LEAD, "2026-04-01T00:00:00Z", "acme", "acme-a", "lead")  # at `to`
    s.event(LEAD, "2026-02-28T23:59:59Z", "acme", "acme-a", "lead")  # before `from`
    s.event(DEAL, "2026-04-01T09:00:00+09:00", "acme", "acme-b", "deal")  # = to
    s.event("deal.won", "2026-03-15T00:00:00Z", "acme", "acme-a", "deal")  # not a deal reg.
    return s


def test_article_table_and_coaching(engine, article):
    result = reps(engine, params(*PERIOD))
    rows = {r["key"]: r for r in result["reps"]}
    # reps (registered_at < to): acme-a acme-b acme-c globex-c globex-d globex-e
    # initech-g initech-h initech-i = 9; initech-late (at `to`) and outside-x are not
    assert [r["key"] for r in result["reps"]] == [
        "acme-a",
        "acme-b",
        "acme-c",
        "globex-c",
        "globex-d",
        "globex-e",
        "initech-g",
        "initech-h",
        "initech-i",
    ]
    expected = {
        # key: (partner, leads, deals, conversion)
        "acme-a": ("acme", 18, 8, 8 / 18),  # 44.4 %
        "acme-b": ("acme", 22, 3, 3 / 22),  # 13.6 %
        "acme-c": ("acme", 0, 2, None),
        "globex-c": ("globex", 10, 5, 0.5),
        "globex-d": ("globex", 12, 6, 0.5),
        "globex-e": ("globex", 9, 0, 0.0),
        "initech-g": ("initech", 0, 0, None),
        "initech-h": ("initech", 20, 4, 0.2),
        "initech-i": ("initech", 0, 0, None),
    }
    for key, (partner, leads, deals_, conversion) in expected.items():
        row = rows[key]
        assert (row["partner_key"], row["leads"], row["deals"]) == (partner, leads, deals_), key
        if conversion is None:
            assert row["conversion"] is None, key
        else:
            assert row["conversion"] == pytest.approx(conversion), key
    assert rows["acme-a"]["conversion"] == pytest.approx(0.4444444444)
    assert rows["acme-b"]["conversion"] == pytest.approx(0.1363636363)
    # reps with >= 10 leads: A .4444, B .1364, C .5, D .5, H .2
    # sorted .1364 .2 .4444 .5 .5 -> median .4444, half .2222
    # below .2222: B (.1364) and H (.2). E has 9 leads: never flagged despite 0 %.
    coaching = sorted(k for k, r in rows.items() if r["needs_coaching"])
    assert coaching == ["acme-b", "initech-h"]
    # leads 18+22+0+10+12+9+0+20+0 = 91 over 9 reps; deals 8+3+2+5+6+0+0+4+0 = 28
    assert result["per_rep_leads"] == pytest.approx(91 / 9)
    assert result["per_rep_deals"] == pytest.approx(28 / 9)
    # active: a b c(2 deals) C D E H = 7; g, i idle
    assert result["active_reps"] == 7
    # top ⌈0.2 × 9⌉ = ⌈1.8⌉ = 2 reps by deals: A 8 + D 6 = 14 of 28
    assert result["top20_deal_share"] == pytest.approx(0.5)


def test_configured_coaching_threshold(engine, article):
    # min leads 9: E (9 leads, 0 %) joins the median set:
    # 0, .1364, .2, .4444, .5, .5 -> median (.2 + .4444) / 2 = .3222, half .1611
    # below: E (0) and B (.1364); H (.2) is no longer flagged
    result = reps(engine, params(*PERIOD, coaching_min_leads=9))
    coaching = sorted(r["key"] for r in result["reps"] if r["needs_coaching"])
    assert coaching == ["acme-b", "globex-e"]
    # ratio 0.25 at min leads 10: median .4444 -> .1111; nobody below (B .1364, H .2)
    result = reps(engine, params(*PERIOD, coaching_ratio=0.25))
    assert [r["key"] for r in result["reps"] if r["needs_coaching"]] == []


def test_median_of_an_even_set_is_the_mean_of_the_middle_two(engine):
    s = Store(engine).partner("p", "2025-01-01")
    for key, leads, deals_ in (("r1", 10, 1), ("r2", 10, 2), ("r3", 10, 5), ("r4", 10, 8)):
        s.user(key, "p")
        activity(s, "p", key, leads, deals_)
    result = reps(engine, params(*PERIOD))
    # conversions .1 .2 .5 .8 -> median (.2 + .5) / 2 = .35, half .175
    # r1 (.1) is below; r2 (.2) is not (it would be under the upper median .5 -> .25)
    assert [r["key"] for r in result["reps"] if r["needs_coaching"]] == ["r1"]
    # 40 leads, 16 deals over 4 reps; top ⌈0.8⌉ = 1 rep: r4 8 of 16
    assert result["per_rep_leads"] == pytest.approx(10.0)
    assert result["per_rep_deals"] == pytest.approx(4.0)
    assert result["top20_deal_share"] == pytest.approx(0.5)


def test_exactly_half_the_median_is_not_below_it(engine):
    s = Store(engine).partner("p", "2025-01-01")
    for key, deals_ in (("r1", 2), ("r2", 4), ("r3", 6)):
        s.user(key, "p")
        activity(s, "p", key, 10, deals_)
    result = reps(engine, params(*PERIOD))
    # .2 .4 .6 -> median .4, half .2; r1 is .2: not *below* -> nobody flagged
    assert [r["key"] for r in result["reps"] if r["needs_coaching"]] == []


def test_top20_rounds_the_rep_count_up(engine):
    # 11 reps: ⌈0.2 × 11⌉ = ⌈2.2⌉ = 3 (rounding would give 2)
    s = Store(engine).partner("p", "2025-01-01")
    deal_counts = [5, 4, 3, 2, 1, 1, 0, 0, 0, 0, 0]
    for i, n in enumerate(deal_counts):
        key = f"r{i:02d}"
        s.user(key, "p")
        activity(s, "p", key, 0, n)
    result = reps(engine, params(*PERIOD))
    # all deals 16; top 3: 5 + 4 + 3 = 12 -> 12 / 16 = .75
    assert result["top20_deal_share"] == pytest.approx(12 / 16)
    assert result["active_reps"] == 6
    assert result["per_rep_deals"] == pytest.approx(16 / 11)
    assert result["per_rep_leads"] == 0.0
    # no rep has leads: every conversion null, nobody flagged
    assert all(r["conversion"] is None for r in result["reps"])
    assert not any(r["needs_coaching"] for r in result["reps"])


def test_top20_with_five_reps_is_the_single_best(engine):
    s = Store(engine).partner("p", "2025-01-01")
    for i, n in enumerate([3, 3, 2, 1, 1]):
        s.user(f"r{i}", "p")
        activity(s, "p", f"r{i}", 4, n)
    result = reps(engine, params(*PERIOD))
    # ⌈0.2 × 5⌉ = 1; the best has 3 (tied, either one) of 10 -> .3
    assert result["top20_deal_share"] == pytest.approx(0.3)


def test_reps_are_users_registered_before_to_not_as_of(engine):
    s = Store(engine).partner("p", "2025-01-01")
    s.user("early", "p", "2026-03-31T12:00:00Z")
    s.user("late", "p", "2026-04-05T00:00:00Z")  # before as_of, after `to`
    activity(s, "p", "early", 2, 1)
    # as_of 2026-04-10, period [03-01, 04-01)
    result = reps(engine, params("2026-04-10", "2026-03-01", "2026-04-01"))
    assert [r["key"] for r in result["reps"]] == ["early"]
    assert result["per_rep_leads"] == pytest.approx(2.0)
    assert result["per_rep_deals"] == pytest.approx(1.0)
    assert result["top20_deal_share"] == pytest.approx(1.0)


def test_top20_share_divides_by_every_deal_of_the_period(engine):
    """Deals by users who are not reps still count in "all deals in the period"."""
    s = Store(engine).partner("p", "2025-01-01")
    s.user("r1", "p").user("r2", "p")
    s.user("no-account", "p", None)  # never registered: not a rep
    s.user("late", "p", "2026-04-05T00:00:00Z")  # registered after `to`: not a rep
    activity(s, "p", "r1", 6, 5)
    activity(s, "p", "r2", 4, 3)
    activity(s, "p", "no-account", 0, 1)
    activity(s, "p", "late", 0, 1)
    result = reps(engine, params("2026-04-10", "2026-03-01", "2026-04-01"))
    assert [r["key"] for r in result["reps"]] == ["r1", "r2"]
    assert result["per_rep_deals"] == pytest.approx(8 / 2)  # reps' deals only
    # top ⌈0.2 × 2⌉ = 1 rep: r1 with 5, of all 5 + 3 + 1 + 1 = 10 deals in the period
    assert result["top20_deal_share"] == pytest.approx(0.5)
    with engine.connect() as conn:
        deals_registered = compute("deals", conn, params("2026-04-10", "2026-03-01", "2026-04-01"))[
            "registered"
        ]
    assert deals_registered == 10


def test_no_deals_means_null_share(engine):
    s = Store(engine).partner("p", "2025-01-01").user("r1", "p").user("r2", "p")
    activity(s, "p", "r1", 3, 0)
    result = reps(engine, params(*PERIOD))
    assert result["top20_deal_share"] is None
    assert result["per_rep_leads"] == pytest.approx(1.5)  # 3 / 2
    assert result["per_rep_deals"] == 0.0
    assert result["active_reps"] == 1
    rows = {r["key"]: r for r in result["reps"]}
    assert rows["r1"]["conversion"] == 0.0  # 0 / 3
    assert rows["r2"]["conversion"] is None  # no leads


def test_scope_narrows_reps(engine, article):
    result = reps(engine, params(*PERIOD, scope=Scope(partner_key="globex")))
    assert [r["key"] for r in result["reps"]] == ["globex-c", "globex-d", "globex-e"]
    # leads 10 + 12 + 9 = 31, deals 5 + 6 + 0 = 11, 3 reps
    assert result["per_rep_leads"] == pytest.approx(31 / 3)
    assert result["per_rep_deals"] == pytest.approx(11 / 3)
    assert result["active_reps"] == 3
    # top ⌈0.6⌉ = 1: D 6 of 11
    assert result["top20_deal_share"] == pytest.approx(6 / 11)
    # >= 10 leads: C .5, D .5 -> median .5, half .25; nobody below
    assert not any(r["needs_coaching"] for r in result["reps"])


def test_empty_cohort(engine):
    Store(engine).partner("later", "2026-06-01").user("later-1", "later")
    result = reps(engine, params(*PERIOD))
    assert result["reps"] == []
    assert result["per_rep_leads"] is None
    assert result["per_rep_deals"] is None
    assert result["active_reps"] == 0
    assert result["top20_deal_share"] is None


def test_cohort_without_users(engine):
    Store(engine).partner("p", "2025-01-01")
    result = reps(engine, params(*PERIOD))
    assert result["reps"] == []
    assert result["per_rep_leads"] is None  # no reps
    assert result["per_rep_deals"] is None
    assert result["active_reps"] == 0
    assert result["top20_deal_share"] is None
