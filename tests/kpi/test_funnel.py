"""KPI 1, `funnel`: journey step completion (kpi-spec.md §1).

Every expected number below is worked out by hand from the fixture, in comments.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.core.timeutil import parse_instant
from bot.kpi import JourneyStep, KpiParams, compute
from tests.builders import Store

UTC = ZoneInfo("UTC")
STEPS = [
    "signed",
    "registered",
    "logged_in",
    "content_downloaded",
    "lead_registered",
    "deal_registered",
    "deal_won",
]
AS_OF = "2026-04-01T00:00:00Z"


def t(text: str, tz: ZoneInfo = UTC):
    return parse_instant(text, tz, allow_date=True)


def params(as_of: str = AS_OF, **kw) -> KpiParams:
    return KpiParams.build(as_of=t(as_of), **kw)


def funnel(engine, p: KpiParams) -> dict:
    with engine.connect() as conn:
        return compute("funnel", conn, p)


def by_key(result: dict) -> dict[str, dict]:
    return {s["key"]: s for s in result["steps"]}


def all_events(s: Store, partner: str, user: str, at: str) -> None:
    for type_ in (
        "user.login",
        "content.downloaded",
        "lead.registered",
        "deal.registered",
        "deal.won",
    ):
        s.event(type_, at, partner, user, "deck" if type_ == "content.downloaded" else "x")


@pytest.fixture
def journey_store(engine) -> Store:
    s = Store(engine)
    s.asset("deck", "onboarding")
    # alpha: every step, in journey order -> reached 7
    s.partner("alpha", "2025-01-01").user("alpha-1", "alpha", "2025-01-02")
    s.event("user.login", "2025-02-01T00:00:00Z", "alpha", "alpha-1")
    s.event("content.downloaded", "2025-02-02T00:00:00Z", "alpha", "alpha-1", "deck")
    s.event("lead.registered", "2025-03-01T00:00:00Z", "alpha", "alpha-1", "L1")
    s.event("deal.registered", "2025-04-01T00:00:00Z", "alpha", "alpha-1", "D1")
    s.event("deal.won", "2025-05-01T00:00:00Z", "alpha", "alpha-1", "D1")
    # bravo: up to lead_registered. The lead is at 08:30 in +09:00 = 2026-03-31T23:30Z,
    # before as_of -> counts. Its deal is exactly at as_of (09:00+09:00 = 00:00Z) -> excluded.
    s.partner("bravo", "2025-01-01").user("bravo-1", "bravo", "2025-01-05")
    s.event("user.login", "2025-02-01T00:00:00Z", "bravo", "bravo-1")
    s.event("content.downloaded", "2025-02-10T00:00:00Z", "bravo", "bravo-1", "deck")
    s.event("lead.registered", "2026-04-01T08:30:00+09:00", "bravo", "bravo-1", "L2")
    s.event("deal.registered", "2026-04-01T09:00:00+09:00", "bravo", "bravo-1", "D2")
    # charlie: logged in; its download is exactly at as_of (excluded); it has a lead, but
    # without a download the lead step is not reached -> reached 3
    s.partner("charlie", "2025-01-01").user("charlie-1", "charlie", "2025-01-01")
    s.event("user.login", "2025-03-01T00:00:00Z", "charlie", "charlie-1")
    s.event("content.downloaded", "2026-04-01T09:00:00+09:00", "charlie", "charlie-1", "deck")
    s.event("lead.registered", "2025-03-10T00:00:00Z", "charlie", "charlie-1", "L3")
    # delta: a partner without users -> not registered, reached 1 (stuck at signed)
    s.partner("delta", "2025-06-01")
    # echo: registered user, deal registered and won but never logged in -> reached 2
    s.partner("echo", "2025-01-01").user("echo-1", "echo", "2025-02-01")
    s.event("deal.registered", "2025-03-01T00:00:00Z", "echo", "echo-1", "D5")
    s.event("deal.won", "2025-03-05T00:00:00Z", "echo", "echo-1", "D5")
    # foxtrot: every step, in reverse time order; the login a microsecond before as_of
    s.partner("foxtrot", "2025-01-01").user("foxtrot-1", "foxtrot", "2025-01-01")
    s.event("deal.won", "2025-02-01T00:00:00Z", "foxtrot", "foxtrot-1", "D6")
    s.event("deal.registered", "2025-03-01T00:00:00Z", "foxtrot", "foxtrot-1", "D6")
    s.event("lead.registered", "2025-04-01T00:00:00Z", "foxtrot", "foxtrot-1", "L6")
    s.event("content.downloaded", "2025-05-01T00:00:00Z", "foxtrot", "foxtrot-1", "deck")
    s.event("user.login", "2026-03-31T23:59:59.999999Z", "foxtrot", "foxtrot-1")
    # golf: signed exactly at as_of -> not in the cohort, whatever it did
    s.partner("golf", "2026-04-01T00:00:00Z").user("golf-1", "golf", "2025-01-01")
    all_events(s, "golf", "golf-1", "2026-03-01T00:00:00Z")
    # hotel: its only user registered exactly at as_of -> not registered, reached 1
    s.partner("hotel", "2025-01-01").user("hotel-1", "hotel", "2026-04-01T00:00:00Z")
    # india: signed after as_of -> not in the cohort
    s.partner("india", "2026-06-01").user("india-1", "india", "2025-01-01")
    all_events(s, "india", "india-1", "2026-03-01T00:00:00Z")
    return s


def test_reached_rates_stuck_and_bottleneck(engine, journey_store):
    result = funnel(engine, params())
    assert [s["key"] for s in result["steps"]] == STEPS
    steps = by_key(result)
    # cohort: alpha bravo charlie delta echo foxtrot hotel (golf signed at as_of, india later)
    # signed 7; registered: alpha bravo charlie echo foxtrot = 5 (delta none, hotel at as_of)
    # logged_in: alpha bravo charlie foxtrot = 4 (echo never logged in)
    # content_downloaded: alpha bravo foxtrot = 3 (charlie's download is at as_of)
    # lead_registered: alpha bravo foxtrot = 3 (bravo's +09:00 lead is before as_of)
    # deal_registered: alpha foxtrot = 2 (bravo's deal at as_of; echo lacks earlier steps)
    # deal_won: alpha foxtrot = 2
    reached = [7, 5, 4, 3, 3, 2, 2]
    assert [steps[k]["reached"] for k in STEPS] == reached
    # step_rate = reached[k] / reached[k-1]: null, 5/7, 4/5, 3/4, 3/3, 2/3, 2/2
    expected_step = [None, 5 / 7, 4 / 5, 3 / 4, 1.0, 2 / 3, 1.0]
    for key, want in zip(STEPS, expected_step, strict=True):
        got = steps[key]["step_rate"]
        assert got is None if want is None else got == pytest.approx(want), key
    # cumulative_rate = reached[k] / 7
    for key, n in zip(STEPS, reached, strict=True):
        assert steps[key]["cumulative_rate"] == pytest.approx(n / 7), key
    # stuck = reached k but not k+1: signed delta+hotel=2, registered echo=1,
    # logged_in charlie=1, content 0, lead bravo=1, deal 0, deal_won (last step) 0 although 2
    # reached it. Sum 5 = 7 cohort - 2 at the last step.
    assert [steps[k]["stuck"] for k in STEPS] == [2, 1, 1, 0, 1, 0, 0]
    # lowest non-null step rate: min(.714, .8, .75, 1, .667, 1) = 2/3 at deal_registered
    assert result["bottleneck"] == "deal_registered"


def test_as_of_one_microsecond_later_includes_events_at_the_old_as_of(engine, journey_store):
    # as_of + 1µs: golf (signed at the old as_of) joins the cohort with every step
    # (user registered 2025, all events 2026-03-01); hotel's user (registered at the old
    # as_of) now counts; bravo's deal and charlie's download (at the old as_of) now count.
    result = funnel(engine, params("2026-04-01T00:00:00.000001Z"))
    steps = by_key(result)
    # signed 8 (7 + golf)
    # registered: alpha bravo charlie echo foxtrot golf hotel = 7
    # logged_in: alpha bravo charlie foxtrot golf = 5
    # content_downloaded: alpha bravo charlie foxtrot golf = 5
    # lead_registered: alpha bravo charlie foxtrot golf = 5 (charlie's lead is 2025-03-10)
    # deal_registered: alpha bravo foxtrot golf = 4
    # deal_won: alpha foxtrot golf = 3
    assert [steps[k]["reached"] for k in STEPS] == [8, 7, 5, 5, 5, 4, 3]
    # stuck: signed delta=1, registered echo+hotel=2, logged_in 0, content 0,
    # lead charlie=1, deal bravo=1, deal_won 0
    assert [steps[k]["stuck"] for k in STEPS] == [1, 2, 0, 0, 1, 1, 0]
    # rates: 7/8=.875, 5/7=.714, 1, 1, 4/5=.8, 3/4=.75 -> registered->logged_in lowest
    assert result["bottleneck"] == "logged_in"


def test_bottleneck_tie_goes_to_the_earliest_step(engine):
    s = Store(engine)
    s.asset("deck")
    s.partner("w", "2025-01-01")  # no users: reached 1
    s.partner("x", "2025-01-01")  # no users: reached 1
    s.partner("y", "2025-01-01").user("y-1", "y", "2025-01-01")
    s.event("user.login", "2026-01-01T00:00:00Z", "y", "y-1")  # reached 3
    s.partner("z", "2025-01-01").user("z-1", "z", "2025-01-01")
    all_events(s, "z", "z-1", "2026-01-01T00:00:00Z")  # reached 7
    result = funnel(engine, params())
    steps = by_key(result)
    # reached: 4, 2, 2, 1, 1, 1, 1
    assert [steps[k]["reached"] for k in STEPS] == [4, 2, 2, 1, 1, 1, 1]
    # step rates: null, 2/4 = 0.5, 2/2 = 1, 1/2 = 0.5, 1, 1, 1 -> tie at 0.5, earliest wins
    assert steps["registered"]["step_rate"] == pytest.approx(0.5)
    assert steps["content_downloaded"]["step_rate"] == pytest.approx(0.5)
    assert result["bottleneck"] == "registered"
    # stuck: signed w+x = 2, logged_in y = 1
    assert [steps[k]["stuck"] for k in STEPS] == [2, 0, 1, 0, 0, 0, 0]


def test_zero_divisor_gives_null_step_rates_and_a_zero_rate_bottleneck(engine):
    # two partners, no users at all: reached 2, 0, 0, …
    Store(engine).partner("a", "2025-01-01").partner("b", "2025-01-01")
    result = funnel(engine, params())
    steps = by_key(result)
    assert [steps[k]["reached"] for k in STEPS] == [2, 0, 0, 0, 0, 0, 0]
    # step_rate: null (step 1), 0/2 = 0.0, then 0/0 -> null
    assert steps["signed"]["step_rate"] is None
    assert steps["registered"]["step_rate"] == 0.0
    for key in STEPS[2:]:
        assert steps[key]["step_rate"] is None, key
    # cumulative: 2/2 = 1.0, then 0/2 = 0.0 everywhere
    assert steps["signed"]["cumulative_rate"] == pytest.approx(1.0)
    for key in STEPS[1:]:
        assert steps[key]["cumulative_rate"] == 0.0, key
    # the only non-null step rate is 0.0 at `registered`
    assert result["bottleneck"] == "registered"
    assert [steps[k]["stuck"] for k in STEPS] == [2, 0, 0, 0, 0, 0, 0]


def test_empty_cohort_is_zeros_and_nulls(engine):
    # one partner, signed after as_of: the cohort is empty
    Store(engine).partner("later", "2026-05-01").user("later-1", "later", "2025-01-01")
    result = funnel(engine, params())
    assert [s["key"] for s in result["steps"]] == STEPS
    for step in result["steps"]:
        assert step["reached"] == 0
        assert step["step_rate"] is None
        assert step["cumulative_rate"] is None  # reached[1] is 0
        assert step["stuck"] == 0
    assert result["bottleneck"] is None


def test_empty_database(engine):
    result = funnel(engine, params())
    assert [s["reached"] for s in result["steps"]] == [0] * 7
    assert result["bottleneck"] is None


def test_configured_journey(engine):
    journey = (
        JourneyStep("signed", "signed"),
        JourneyStep("registered", "registered"),
        JourneyStep("trained", "training.completed"),
    )
    s = Store(engine)
    s.partner("a", "2025-01-01").user("a-1", "a", "2025-01-01")
    s.event("training.completed", "2026-03-01T00:00:00Z", "a", "a-1", "course-1")
    s.partner("b", "2025-01-01").user("b-1", "b", "2025-01-01")
    s.event("user.login", "2026-03-01T00:00:00Z", "b", "b-1")  # not a journey step here
    s.partner("c", "2025-01-01")
    result = funnel(engine, params(journey=journey))
    steps = by_key(result)
    assert [x["key"] for x in result["steps"]] == ["signed", "registered", "trained"]
    # reached 3, 2 (a, b), 1 (a); step rates 2/3, 1/2 -> bottleneck trained
    assert [steps[k]["reached"] for k in ("signed", "registered", "trained")] == [3, 2, 1]
    assert steps["registered"]["step_rate"] == pytest.approx(2 / 3)
    assert steps["trained"]["step_rate"] == pytest.approx(1 / 2)
    assert steps["trained"]["cumulative_rate"] == pytest.approx(1 / 3)
    assert result["bottleneck"] == "trained"
    # stuck: signed c, registered b, trained (last) 0 though a reached it
    assert [steps[k]["stuck"] for k in ("signed", "registered", "trained")] == [1, 1, 0]


def test_single_step_journey_has_no_bottleneck_and_nobody_stuck(engine):
    Store(engine).partner("a", "2025-01-01").partner("b", "2025-01-01")
    result = funnel(engine, params(journey=(JourneyStep("signed", "signed"),)))
    assert len(result["steps"]) == 1
    step = result["steps"][0]
    # reached 2, step_rate null (step 1), cumulative 2/2, stuck 0 (the last step)
    assert (step["reached"], step["step_rate"], step["stuck"]) == (2, None, 0)
    assert step["cumulative_rate"] == pytest.approx(1.0)
    assert result["bottleneck"] is None  # no step k >= 2


def test_events_are_counted_per_partner_not_per_event(engine):
    # many logins by two users of one partner still make one partner reach the step
    s = Store(engine)
    s.partner("a", "2025-01-01").user("a-1", "a", "2025-01-01").user("a-2", "a", "2025-01-01")
    s.events("user.login", ["2026-01-01", "2026-01-02", "2026-01-03"], "a", "a-1")
    s.events("user.login", ["2026-01-04"], "a", "a-2")
    steps = by_key(funnel(engine, params()))
    assert steps["logged_in"]["reached"] == 1
    assert steps["logged_in"]["stuck"] == 1  # reached 3, no download


# The spec asks "how many are stuck and for how long" without naming the fields; the engine
# reports `stuck_median_days` and `stuck_max_days` (null when nobody is stuck there).


def test_how_long_partners_are_stuck(engine, journey_store):
    steps = by_key(funnel(engine, params()))
    # days from "reached k" (latest first-completion of steps 1..k) to as_of 2026-04-01:
    # signed: delta signed 2025-06-01 -> 304 d (Jun 30 + Jul 31 + Aug 31 + Sep 30 + Oct 31
    #   + Nov 30 + Dec 31 + Jan 31 + Feb 28 + Mar 31); hotel signed 2025-01-01 -> 455 d
    #   median (304 + 455) / 2 = 379.5, max 455
    assert steps["signed"]["stuck_median_days"] == pytest.approx(379.5)
    assert steps["signed"]["stuck_max_days"] == pytest.approx(455)
    # registered: echo, user registered 2025-02-01 -> 365 + 28 + 31 = 424 d
    assert steps["registered"]["stuck_median_days"] == pytest.approx(424)
    assert steps["registered"]["stuck_max_days"] == pytest.approx(424)
    # logged_in: charlie, login 2025-03-01 -> 365 + 31 = 396 d
    assert steps["logged_in"]["stuck_median_days"] == pytest.approx(396)
    # lead_registered: bravo, lead at 2026-03-31T23:30Z -> 30 minutes = 1/48 d
    assert steps["lead_registered"]["stuck_median_days"] == pytest.approx(1 / 48)
    assert steps["lead_registered"]["stuck_max_days"] == pytest.approx(1 / 48)
    # nobody stuck: null; deal_won is the last step (alpha and foxtrot are not "stuck")
    for key in ("content_downloaded", "deal_registered", "deal_won"):
        assert steps[key]["stuck_median_days"] is None, key
        assert steps[key]["stuck_max_days"] is None, key


def test_stuck_since_the_latest_of_the_earlier_steps(engine):
    # downloaded (2025-06-01) long before the first login (2026-03-01): the partner reached
    # content_downloaded when both were done, i.e. 2026-03-01 -> 31 days before as_of
    s = Store(engine).asset("deck")
    s.partner("rev", "2025-01-01").user("rev-1", "rev", "2025-01-01")
    s.event("content.downloaded", "2025-06-01T00:00:00Z", "rev", "rev-1", "deck")
    s.event("user.login", "2026-03-01T00:00:00Z", "rev", "rev-1")
    steps = by_key(funnel(engine, params()))
    assert steps["content_downloaded"]["reached"] == 1
    assert steps["content_downloaded"]["stuck"] == 1
    assert steps["content_downloaded"]["stuck_median_days"] == pytest.approx(31)
    assert steps["content_downloaded"]["stuck_max_days"] == pytest.approx(31)
