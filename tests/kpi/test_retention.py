"""KPI 5, `retention`: continued use over 3/6/12 months (kpi-spec.md §5).

as_of is 2026-03-31T00:00Z, on the 31st, so every "as_of − i months" is clamped:
  i:  0 2026-03-31   1 2026-02-28   2 2026-01-31   3 2025-12-31   4 2025-11-30
      5 2025-10-31   6 2025-09-30   7 2025-08-31   8 2025-07-31   9 2025-06-30
     10 2025-05-31  11 2025-04-30  12 2025-03-31
W_i = [as_of − (i+1) months, as_of − i months), so e.g. W1 = [2026-01-31, 2026-02-28):
each bound is as_of minus whole months, never a previous bound minus one month
(chained, W1 would be [2026-01-28, 2026-02-28)).
Dormant window: [as_of − 30 days, as_of) = [2026-03-01, 2026-03-31).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.core.timeutil import parse_instant
from bot.kpi import KpiParams, Scope, compute
from tests.builders import Store

UTC = ZoneInfo("UTC")
TOKYO = ZoneInfo("Asia/Tokyo")
AS_OF = "2026-03-31T00:00:00Z"


def t(text: str, tz: ZoneInfo = UTC):
    return parse_instant(text, tz, allow_date=True)


def params(as_of: str = AS_OF, tz: ZoneInfo = UTC, **kw) -> KpiParams:
    return KpiParams.build(as_of=t(as_of, tz), tz=tz, **kw)


def retention(engine, p: KpiParams) -> dict:
    with engine.connect() as conn:
        return compute("retention", conn, p)


def windows(result: dict) -> list[tuple[int, int, int]]:
    return [(w["months"], w["eligible"], w["retained"]) for w in result["windows"]]


def rates(result: dict) -> dict[int, float | None]:
    return {w["months"]: w["rate"] for w in result["windows"]}


TYPES = (
    "user.login",
    "content.downloaded",
    "training.completed",
    "lead.registered",
    "deal.registered",
    "deal.won",
)


def active(s: Store, partner: str, times: list[str]) -> None:
    """One active event at each time, cycling through every active event type."""
    user = f"{partner}-1"
    for i, at in enumerate(times):
        type_ = TYPES[i % len(TYPES)]
        s.event(type_, at, partner, user, "deck" if type_ == "content.downloaded" else "x")


@pytest.fixture
def history(engine) -> Store:
    s = Store(engine)
    s.asset("deck")

    def partner(key: str, signed: str) -> None:
        s.partner(key, signed).user(f"{key}-1", key, "2025-01-01")

    # p-all: one event exactly at the start of each of W0..W11, plus one 1µs before as_of
    partner("p-all", "2025-01-01")
    active(
        s,
        "p-all",
        [
            "2026-02-28T00:00:00Z",  # W0 start
            "2026-01-31T00:00:00Z",  # W1
            "2025-12-31T00:00:00Z",  # W2
            "2025-11-30T00:00:00Z",  # W3
            "2025-10-31T00:00:00Z",  # W4
            "2025-09-30T00:00:00Z",  # W5
            "2025-08-31T00:00:00Z",  # W6
            "2025-07-31T00:00:00Z",  # W7
            "2025-06-30T00:00:00Z",  # W8
            "2025-05-31T00:00:00Z",  # W9
            "2025-04-30T00:00:00Z",  # W10
            "2025-03-31T00:00:00Z",  # W11 start = as_of − 12 months
            "2026-03-30T23:59:59.999999Z",  # W0, and not dormant
        ],
    )
    # p-gap: every window but W7 [2025-07-31, 2025-08-31); the events either side of W7
    # are 1 s before its start (W8) and exactly at its end (W6)
    partner("p-gap", "2025-01-01")
    active(
        s,
        "p-gap",
        [
            "2026-03-01T00:00:00Z",  # W0; exactly at the dormant window start
            "2026-02-15T00:00:00Z",  # W1
            "2026-01-15T00:00:00Z",  # W2
            "2025-12-15T00:00:00Z",  # W3
            "2025-11-15T00:00:00Z",  # W4
            "2025-10-15T00:00:00Z",  # W5
            "2025-08-31T00:00:00Z",  # W6 start (= W7 end)
            "2025-07-30T23:59:59Z",  # W8 (1 s before W7)
            "2025-06-15T00:00:00Z",  # W9 = [05-31, 06-30)
            "2025-05-15T00:00:00Z",  # W10 = [04-30, 05-31)
            "2025-04-15T00:00:00Z",  # W11 = [03-31, 04-30)
        ],
    )
    # p-chain: W0 (03-15) and W2 (01-29, 01-10) but nothing in W1 = [01-31, 02-28).
    # (With chained windows, 01-29 would fall in W1 = [01-28, 02-28) and it would retain.)
    partner("p-chain", "2025-06-01")
    active(s, "p-chain", ["2026-03-15T00:00:00Z", "2026-01-29T00:00:00Z", "2026-01-10T00:00:00Z"])
    # p-edge: signed exactly at as_of − 3 months (eligible: ≤). Its only W0 candidate is
    # exactly at as_of (excluded) -> not retained; and dormant.
    partner("p-edge", "2025-12-31T00:00:00Z")
    active(s, "p-edge", ["2026-03-31T00:00:00Z", "2026-02-10T00:00:00Z", "2026-01-05T00:00:00Z"])
    # p-edge2: signed at as_of − 3 months; one event 1 s before each window's end
    partner("p-edge2", "2025-12-31T00:00:00Z")
    active(
        s,
        "p-edge2",
        ["2026-03-30T23:59:59Z", "2026-02-27T23:59:59Z", "2026-01-30T23:59:59Z"],
    )
    # p-late: signed 1 s after as_of − 3 months: not eligible for 3 (active throughout)
    partner("p-late", "2025-12-31T00:00:01Z")
    active(s, "p-late", ["2026-03-10T00:00:00Z", "2026-02-10T00:00:00Z", "2026-01-10T00:00:00Z"])
    six = [
        "2026-03-10T00:00:00Z",  # W0
        "2026-02-10T00:00:00Z",  # W1
        "2026-01-10T00:00:00Z",  # W2
        "2025-12-10T00:00:00Z",  # W3 = [11-30, 12-31)
        "2025-11-10T00:00:00Z",  # W4 = [10-31, 11-30)
        "2025-10-10T00:00:00Z",  # W5 = [09-30, 10-31)
    ]
    # p-six: signed exactly at as_of − 6 months = 2025-09-30 (clamped from the 31st)
    partner("p-six", "2025-09-30T00:00:00Z")
    active(s, "p-six", six)
    # p-six-late: signed 12 hours after as_of − 6 months: eligible for 3, not for 6
    partner("p-six-late", "2025-09-30T12:00:00Z")
    active(s, "p-six-late", six)
    # p-quiet: one event 1µs before the dormant window (inside W0, though)
    partner("p-quiet", "2025-01-01")
    active(s, "p-quiet", ["2026-02-28T23:59:59.999999Z"])
    # p-future: signed after as_of: outside the cohort
    partner("p-future", "2026-04-15")
    active(s, "p-future", ["2026-03-10T00:00:00Z"])
    return s


def test_windows_eligibility_and_dormant(engine, history):
    result = retention(engine, params())
    assert [w["months"] for w in result["windows"]] == [3, 6, 12]
    # N=3: eligible signed ≤ 2025-12-31T00:00Z: p-all p-gap p-chain p-edge p-edge2 p-six
    #      p-six-late p-quiet = 8 (p-late is 1 s too late)
    #      retained (W0, W1, W2 all active): p-all p-gap p-edge2 p-six p-six-late = 5
    # N=6: eligible signed ≤ 2025-09-30T00:00Z: p-all p-gap p-chain p-six p-quiet = 5
    #      retained (W0..W5): p-all p-gap p-six = 3
    # N=12: eligible signed ≤ 2025-03-31T00:00Z: p-all p-gap p-quiet = 3
    #      retained (W0..W11): p-all = 1 (p-gap misses W7)
    assert windows(result) == [(3, 8, 5), (6, 5, 3), (12, 3, 1)]
    r = rates(result)
    assert r[3] == pytest.approx(5 / 8)
    assert r[6] == pytest.approx(3 / 5)
    assert r[12] == pytest.approx(1 / 3)
    # no active event in [2026-03-01, 2026-03-31): p-edge (its March event is at as_of),
    # p-quiet (02-28T23:59:59.999999, 1µs before the window). p-gap's 03-01T00:00 counts.
    assert result["dormant"] == ["p-edge", "p-quiet"]


def test_as_of_a_day_later(engine, history):
    # as_of 2026-04-01T00:00Z: bounds are 03-01, 02-01, 01-01, 2025-12-01, 11-01, 10-01 …
    # dormant window [03-02, 04-01).
    result = retention(engine, params("2026-04-01T00:00:00Z"))
    # N=3 eligible: signed ≤ 2026-01-01: all but p-future = 9
    #   W0 [03-01, 04-01), W1 [02-01, 03-01), W2 [01-01, 02-01)
    #   p-all: 03-30 / 02-28 / 01-31 -> yes
    #   p-gap: 03-01 / 02-15 / 01-15 -> yes
    #   p-chain: 03-15 / none in February -> no
    #   p-edge: 03-31 (now before as_of) / 02-10 / 01-05 -> yes
    #   p-edge2: 03-30 / 02-27 / 01-30 -> yes
    #   p-late: 03-10 / 02-10 / 01-10 -> yes
    #   p-six, p-six-late: 03-10 / 02-10 / 01-10 -> yes
    #   p-quiet: 02-28 only -> no               => 7 of 9
    # N=6 eligible: signed ≤ 2025-10-01: p-all p-gap p-chain p-six p-six-late p-quiet = 6
    #   W3 [12-01, 01-01), W4 [11-01, 12-01), W5 [10-01, 11-01)
    #   p-all: 12-31, 11-30, 10-31 -> yes; p-gap: 12-15, 11-15, 10-15 -> yes
    #   p-six, p-six-late: 12-10, 11-10, 10-10 -> yes; p-chain, p-quiet no => 4 of 6
    # N=12 eligible: signed ≤ 2025-04-01: p-all p-gap p-quiet = 3
    #   W6..W11 = [09-01, 10-01) [08-01, 09-01) [07-01, 08-01) [06-01, 07-01)
    #             [05-01, 06-01) [04-01, 05-01)
    #   p-all: 09-30, 08-31, 07-31, 06-30, 05-31, 04-30 -> yes
    #   p-gap: 10-15, 08-31, 07-30 … nothing in W6 [09-01, 10-01) -> no
    #   => 1 of 3
    assert windows(result) == [(3, 9, 7), (6, 6, 4), (12, 3, 1)]
    # dormant [03-02, 04-01): p-gap (03-01 is now before the window), p-quiet
    assert result["dormant"] == ["p-gap", "p-quiet"]


def test_configured_active_types(engine):
    s = Store(engine)
    s.partner("logins", "2025-01-01").user("logins-1", "logins")
    s.partner("dealer", "2025-01-01").user("dealer-1", "dealer")
    for at in ("2026-03-10", "2026-02-10", "2026-01-10"):
        s.event("user.login", at, "logins", "logins-1")
        s.event("deal.registered", at, "dealer", "dealer-1", "d")
    result = retention(engine, params(active_types=("deal.registered",)))
    # only deals are activity: N=3 eligible 2, retained dealer only
    assert windows(result)[0] == (3, 2, 1)
    assert result["dormant"] == ["logins"]
    # with the default types both are retained and neither is dormant
    result = retention(engine, params())
    assert windows(result)[0] == (3, 2, 2)
    assert result["dormant"] == []


def test_months_are_counted_in_the_reporting_zone(engine):
    # Reporting zone Asia/Tokyo; as_of = 2026-03-31 00:00 JST = 2026-03-30T15:00Z.
    # Local bounds: 2026-02-28 JST (02-27T15:00Z), 2026-01-31 JST (01-30T15:00Z),
    # 2025-12-31 JST (12-30T15:00Z).
    s = Store(engine, TOKYO)
    s.partner("tokyo", "2025-12-31").user("tokyo-1", "tokyo", "2025-01-01")  # = as_of − 3 m
    s.event("user.login", "2026-02-27T16:00:00Z", "tokyo", "tokyo-1")  # 02-28 01:00 JST: W0
    s.event("user.login", "2026-01-31T00:00:00+09:00", "tokyo", "tokyo-1")  # W1 start
    s.event("user.login", "2026-01-15", "tokyo", "tokyo-1")  # W2
    result = retention(engine, params("2026-03-31", TOKYO))
    # eligible (signed 2025-12-31 JST ≤ as_of − 3 months = 2025-12-31 JST) and retained.
    # (In UTC arithmetic W0 would start 2026-02-28T15:00Z and miss the first login.)
    assert windows(result)[0] == (3, 1, 1)
    assert windows(result)[1:] == [(6, 0, 0), (12, 0, 0)]
    assert rates(result)[6] is None
    # dormant window [2026-03-01 JST, 2026-03-31 JST): no event -> dormant
    assert result["dormant"] == ["tokyo"]


def test_scope_narrows_retention(engine, history):
    result = retention(engine, params(scope=Scope(signed_from=t("2025-06-01"))))
    # signed ≥ 2025-06-01 (and before as_of): p-chain p-edge p-edge2 p-late p-six p-six-late
    # N=3: eligible p-chain p-edge p-edge2 p-six p-six-late = 5; retained p-edge2 p-six
    #      p-six-late = 3
    # N=6: eligible p-chain p-six = 2; retained p-six = 1
    # N=12: eligible none
    assert windows(result) == [(3, 5, 3), (6, 2, 1), (12, 0, 0)]
    assert rates(result)[12] is None
    assert result["dormant"] == ["p-edge"]


def test_empty_cohort(engine):
    result = retention(engine, params())
    assert windows(result) == [(3, 0, 0), (6, 0, 0), (12, 0, 0)]
    assert all(w["rate"] is None for w in result["windows"])
    assert result["dormant"] == []


def test_partner_without_events_is_dormant_and_not_retained(engine):
    Store(engine).partner("silent", "2025-01-01")
    result = retention(engine, params())
    assert windows(result) == [(3, 1, 0), (6, 1, 0), (12, 1, 0)]
    assert rates(result) == {3: 0.0, 6: 0.0, 12: 0.0}
    assert result["dormant"] == ["silent"]


def test_dormant_window_is_thirty_local_days_across_dst(engine):
    # New York: as_of 2026-03-31 00:00 EDT (-04:00) = 03-31T04:00Z. DST began 03-08, so
    # as_of − 30 local days = 2026-03-01 00:00 EST (-05:00) = 03-01T05:00Z.
    # An event at 03-01T04:30Z (02-28 23:30 EST) is before the window -> dormant
    # (with 30 × 24 h it would be 03-01T04:00Z and the event would count).
    ny = ZoneInfo("America/New_York")
    s = Store(engine, ny)
    s.partner("east", "2025-01-01").user("east-1", "east")
    s.event("user.login", "2026-03-01T04:30:00Z", "east", "east-1")
    s.partner("west", "2025-01-01").user("west-1", "west")
    s.event("user.login", "2026-03-01T05:00:00Z", "west", "west-1")  # window start: active
    result = retention(engine, params("2026-03-31", ny))
    assert result["dormant"] == ["east"]
