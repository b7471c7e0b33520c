"""`nudge_lift` against hand-built ledgers, and the per-rep facts the rules read.

Ledger rows are inserted directly (job next-actions, kind nudge, status sent or holdout),
events with `Store`; every expected figure is worked out by hand beside the data. Runs on
SQLite and, with PRM_TEST_DATABASE_URL, PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, select, update

from bot.domain.nudges import facts as facts_mod
from bot.domain.nudges.facts import PastNudge
from bot.domain.nudges.rules import RepFacts, choose, load_rules
from bot.kpi import KpiParams, Scope
from bot.kpi.nudge_lift import nudge_lift
from bot.store.tables import Delivery, PartnerUser
from tests.builders import Store
from tests.jobs.conftest import seed

AS_OF = datetime(2026, 11, 15, 0, 0, tzinfo=UTC)
WINDOW_START = AS_OF - timedelta(days=30)  # 2026-10-16 00:00 UTC (reporting zone UTC)
N = datetime(2026, 10, 20, 10, 0, tzinfo=UTC)  # a nudge well inside the window
_keys = count(1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def nudge(
    engine: Engine,
    user: str,
    created: datetime,
    status: str = "sent",
    target: str | None = "deal.registered",
    *,
    job: str = "next-actions",
    kind: str = "nudge",
) -> None:
    with engine.begin() as conn:
        user_id = conn.execute(select(PartnerUser.id).where(PartnerUser.key == user)).scalar_one()
        conn.execute(
            insert(Delivery).values(
                key=f"{job}:{user}:{next(_keys)}",
                job=job,
                kind=kind,
                recipient=user,
                user_id=user_id,
                action="some_rule",
                target=target,
                status=status,
                attempts=0,
                created_at=created,
            )
        )


def book(engine: Engine, *reps: str, partner: str = "acme", **partner_kw) -> Store:
    s = Store(engine).partner(partner, "2025-01-01", **partner_kw)
    for key in reps:
        s.user(key, partner, "2025-01-05")
    return s


def lift(engine: Engine, **kw) -> dict:
    with engine.connect() as conn:
        return nudge_lift(conn, KpiParams.build(as_of=AS_OF, **kw))


def group(result: dict, name: str) -> tuple[int, int, float | None]:
    g = result[name]
    return g["reps"], g["completed"], g["rate"]


# --- nudge_lift -------------------------------------------------------------------------


def test_completion_is_the_target_type_after_the_nudge_and_before_as_of(engine):
    s = book(engine, *"abcdefgh")
    for rep in "abcdeh":
        nudge(engine, rep, N, "sent", "deal.registered")
    nudge(engine, "f", N, "holdout", "deal.registered")
    nudge(engine, "g", N, "holdout", "lead.registered")
    s.event("deal.registered", "2026-10-25T09:00:00Z", "acme", "a")  # a: done ✓
    s.event("lead.registered", "2026-10-25T09:00:00Z", "acme", "b")  # b: another type ✗
    s.event("deal.registered", "2026-10-19T09:00:00Z", "acme", "c")  # c: before the nudge ✗
    s.event("deal.registered", AS_OF, "acme", "d")  # d: at as_of, not before it ✗
    s.event("deal.registered", N, "acme", "e")  # e: at the nudge's instant, not after ✗
    s.event("deal.registered", "2026-10-26T09:00:00Z", "acme")  # h: the partner's, no user ✗
    s.event("deal.registered", "2026-11-01T09:00:00Z", "acme", "f")  # f (holdout): done ✓
    s.event("deal.registered", "2026-11-01T09:00:00Z", "acme", "g")  # g wanted a lead ✗
    result = lift(engine)
    # Nudged: a b c d e h = 6 reps, 1 completed (a): 1/6.  Holdout: f g = 2, 1 (f): 1/2.
    assert group(result, "nudged") == (6, 1, pytest.approx(1 / 6))
    assert group(result, "holdout") == (2, 1, 0.5)
    assert result["lift"] == pytest.approx(1 / 6 - 1 / 2)  # −0.333…: the tips did worse
    assert result["window_days"] == 30


def test_any_target_counts_any_activity_of_the_rep(engine):
    s = book(engine, *"abcde")
    nudge(engine, "a", N, "sent", "any")
    nudge(engine, "b", N, "sent", "any")
    nudge(engine, "c", N, "holdout", "any")
    nudge(engine, "d", N, "holdout", "any")
    nudge(engine, "e", N, "sent", None)  # a row without a target counts like `any`
    s.event("content.downloaded", "2026-10-21T09:00:00Z", "acme", "a", "guide")  # a ✓
    s.event("user.login", "2026-10-10T09:00:00Z", "acme", "b")  # b: only before the nudge ✗
    s.event("training.completed", "2026-11-14T23:59:59Z", "acme", "c")  # c: a second early ✓
    s.event("user.login", "2026-10-22T09:00:00Z", "acme", "a")  # someone else's, not d's ✗
    s.event("user.login", "2026-10-30T09:00:00Z", "acme", "e")  # e ✓
    result = lift(engine)
    # Nudged: a b e = 3 reps, 2 completed (a, e): 2/3.  Holdout: c d = 2, 1 (c): 1/2.
    assert group(result, "nudged") == (3, 2, pytest.approx(2 / 3))
    assert group(result, "holdout") == (2, 1, 0.5)
    assert result["lift"] == pytest.approx(2 / 3 - 1 / 2)  # +0.1666…


def test_only_the_first_nudge_per_rep_in_the_window_counts(engine):
    s = book(engine, *"abd")
    # a: first asked for content (never done), then for a lead (done): judged on content.
    nudge(engine, "a", at("2026-10-20T01:00:00"), "sent", "content.downloaded")
    nudge(engine, "a", at("2026-10-27T01:00:00"), "sent", "lead.registered")
    s.event("lead.registered", "2026-10-28T09:00:00Z", "acme", "a")  # ✗ (the second ask)
    # b: first asked for content (done), then for a lead (never done): judged on content.
    nudge(engine, "b", at("2026-10-20T01:00:00"), "sent", "content.downloaded")
    nudge(engine, "b", at("2026-10-29T01:00:00"), "sent", "lead.registered")
    s.event("content.downloaded", "2026-10-22T09:00:00Z", "acme", "b", "guide")  # ✓
    # d: two rows at the same instant: the first written (lower id) counts.
    nudge(engine, "d", N, "sent", "user.login")
    nudge(engine, "d", N, "sent", "deal.registered")
    s.event("user.login", "2026-10-21T09:00:00Z", "acme", "d")  # ✓ (the first row's target)
    result = lift(engine)
    # Nudged: a b d = 3 reps (not 6 rows), 2 completed (b, d): 2/3.  Holdout: none.
    assert group(result, "nudged") == (3, 2, pytest.approx(2 / 3))
    assert group(result, "holdout") == (0, 0, None)
    assert result["lift"] is None


def test_nudges_outside_the_thirty_days_are_ignored(engine):
    s = book(engine, *"abcde")
    for rep in "abcde":
        s.event("lead.registered", "2026-10-20T12:00:00Z", "acme", rep)
    # a: a second before the window opens (2026-10-16 00:00 UTC): ignored.
    nudge(engine, "a", WINDOW_START - timedelta(seconds=1), "sent", "lead.registered")
    # b: exactly at the window's start: counted, done ✓.
    nudge(engine, "b", WINDOW_START, "sent", "lead.registered")
    # c: an old nudge (done) and one in the window (deal, never done): the latter counts ✗.
    nudge(engine, "c", at("2026-09-01T01:00:00"), "sent", "lead.registered")
    nudge(engine, "c", at("2026-10-21T01:00:00"), "sent", "deal.registered")
    # d: at as_of, so not before it: ignored.  e: an old holdout only: ignored.
    nudge(engine, "d", AS_OF, "sent", "lead.registered")
    nudge(engine, "e", at("2026-08-01T01:00:00"), "holdout", "lead.registered")
    result = lift(engine)
    # Nudged: b c = 2 reps, 1 completed (b): 1/2.  Holdout: none (e's is too old).
    assert group(result, "nudged") == (2, 1, 0.5)
    assert group(result, "holdout") == (0, 0, None)
    assert result["lift"] is None


def test_the_window_is_thirty_local_days_of_the_reporting_zone(engine):
    s = book(engine, "a")
    # as_of is 19:00 EST on Nov 14 in New York; thirty local days earlier is 19:00 EDT on
    # Oct 15 = 23:00 UTC, an hour before the UTC window opens (Oct 16 00:00 UTC).
    nudge(engine, "a", at("2026-10-15T23:30:00"), "sent", "lead.registered")
    s.event("lead.registered", "2026-10-20T12:00:00Z", "acme", "a")
    ny = lift(engine, tz=ZoneInfo("America/New_York"))
    assert group(ny, "nudged") == (1, 1, 1.0)
    assert group(lift(engine), "nudged") == (0, 0, None)  # in UTC it is a day too old


def test_other_ledger_rows_are_not_nudges_and_a_failed_nudge_stays_treated(engine):
    s = book(engine, *"abcdefg")
    nudge(engine, "a", N, "failed", "lead.registered")  # never reached the rep: still treated
    nudge(engine, "b", N, "undeliverable", "lead.registered")  # before assignment: no arm
    nudge(engine, "c", N, "pending", "lead.registered")  # fate unknown: still treated
    nudge(engine, "d", N, "sent", "lead.registered", job="coaching-alerts", kind="alert")
    nudge(engine, "e", N, "sent", "lead.registered", kind="scorecard")
    nudge(engine, "f", N, "sent", "lead.registered", job="weekly-scorecards")
    nudge(engine, "g", N, "holdout", "lead.registered")
    for rep in "abcdefg":
        s.event("lead.registered", "2026-10-25T09:00:00Z", "acme", rep)
    result = lift(engine)
    # Intent to treat: a and c are the nudged arm (both did it), g the holdout.
    assert group(result, "nudged") == (2, 2, 1.0)
    assert group(result, "holdout") == (1, 1, 1.0)
    assert result["lift"] == 0 and result["verdict"] == "not_enough_data"


def test_scope_narrows_to_the_book(engine):
    s = book(engine, "acme-a", "acme-b", partner="acme", manager="UM1")
    s.partner("globex", "2025-01-01", manager="UM2")
    s.user("globex-a", "globex", "2025-01-05").user("globex-b", "globex", "2025-01-05")
    s.partner("initech", "2026-12-01", manager="UM1")  # signs after as_of: not in any book
    s.user("initech-a", "initech", "2025-01-05")
    nudge(engine, "acme-a", N, "sent", "lead.registered")  # ✓
    nudge(engine, "acme-b", N, "holdout", "lead.registered")  # ✗
    nudge(engine, "globex-a", N, "sent", "lead.registered")  # ✗
    nudge(engine, "globex-b", N, "holdout", "lead.registered")  # ✓
    nudge(engine, "initech-a", N, "sent", "lead.registered")  # ✓ but out of the cohort
    for rep, partner in (("acme-a", "acme"), ("globex-b", "globex"), ("initech-a", "initech")):
        s.event("lead.registered", "2026-10-25T09:00:00Z", partner, rep)

    everyone = lift(engine)
    # Nudged: acme-a globex-a = 2, 1 done: 1/2.  Holdout: acme-b globex-b = 2, 1 done: 1/2.
    assert group(everyone, "nudged") == (2, 1, 0.5)
    assert group(everyone, "holdout") == (2, 1, 0.5)
    assert everyone["lift"] == 0.0

    acme = lift(engine, scope=Scope(partner_key="acme"))
    # Nudged: acme-a 1/1 = 1.  Holdout: acme-b 0/1 = 0.  Lift +1.
    assert (group(acme, "nudged"), group(acme, "holdout"), acme["lift"]) == (
        (1, 1, 1.0),
        (1, 0, 0.0),
        1.0,
    )
    globex = lift(engine, scope=Scope(partner_key="globex"))
    # Nudged: globex-a 0/1 = 0.  Holdout: globex-b 1/1 = 1.  Lift −1.
    assert (group(globex, "nudged"), group(globex, "holdout"), globex["lift"]) == (
        (1, 0, 0.0),
        (1, 1, 1.0),
        -1.0,
    )
    assert lift(engine, scope=Scope(manager_slack_id="UM2")) == globex
    assert lift(engine, scope=Scope(manager_slack_id="UM1")) == acme  # initech not signed
    nobody = lift(engine, scope=Scope(partner_key="nobody"))
    assert group(nobody, "nudged") == (0, 0, None) and nobody["lift"] is None


def test_lift_is_none_when_either_group_is_empty(engine):
    s = book(engine, "a", "b")
    nudge(engine, "a", N, "holdout", "lead.registered")
    s.event("lead.registered", "2026-10-25T09:00:00Z", "acme", "a")
    only_holdout = lift(engine)
    # Holdout: a = 1, 1 done: 1.  Nudged: nobody, so no rate and no lift.
    assert group(only_holdout, "holdout") == (1, 1, 1.0)
    assert group(only_holdout, "nudged") == (0, 0, None) and only_holdout["lift"] is None
    nudge(engine, "b", N, "sent", "lead.registered")
    both = lift(engine)
    # Nudged: b = 1, 0 done: 0.  Holdout 1/1 = 1.  Lift 0 − 1 = −1 (a rate of 0 is a rate).
    assert group(both, "nudged") == (1, 0, 0.0) and both["lift"] == -1.0


# --- the facts the rules read -----------------------------------------------------------


def test_reps_are_registered_users_of_signed_partners_in_scope(engine):
    s = Store(engine).partner("acme", "2025-01-01").partner("globex", "2025-01-01")
    s.partner("later", "2026-12-01")
    s.user("acme-b", "acme", "2025-01-05", slack_user_id="UB", locale="ja", name="Bea")
    s.user("acme-a", "acme", "2026-11-14")
    s.user("acme-new", "acme", "2026-11-15T00:00:00Z")  # registers at as_of: not yet
    s.user("acme-none", "acme", None)  # never got an account: not a rep
    s.user("globex-a", "globex", "2025-01-05")
    s.user("later-a", "later", "2025-01-05")  # partner not signed yet
    with engine.begin() as conn:
        conn.execute(update(PartnerUser).where(PartnerUser.key == "acme-a").values(tips_off_at=N))
    with engine.connect() as conn:
        everyone = facts_mod.reps(conn, KpiParams.build(as_of=AS_OF))
        acme = facts_mod.reps(conn, KpiParams.build(as_of=AS_OF, scope=Scope(partner_key="acme")))
    assert [r.key for r in everyone] == ["acme-a", "acme-b", "globex-a"]  # by key
    assert [r.key for r in acme] == ["acme-a", "acme-b"]
    a, b = acme
    assert a.tips_off and not b.tips_off
    assert (b.name, b.slack_user_id, b.locale, b.partner_key, b.partner_name) == (
        "Bea",
        "UB",
        "ja",
        "acme",
        "Acme",
    )
    assert a.slack_user_id is None and a.partner_channel is None


def test_facts_first_and_last_per_type_and_onboarding_downloads(engine):
    now = AS_OF
    s = book(engine, "a", "b", "c")
    s.asset("guide", "onboarding", "sales").asset("deck", "sales")
    s.events("user.login", ["2026-10-01T09:00:00Z", "2026-10-10T09:00:00Z"], "acme", "a")
    s.event("content.downloaded", "2026-10-05T09:00:00Z", "acme", "a", "guide")
    s.event("content.downloaded", "2026-10-06T09:00:00Z", "acme", "a", "deck")  # not onboarding
    s.event("content.downloaded", "2026-10-07T09:00:00Z", "acme", "a", "guide")
    s.event("lead.registered", now, "acme", "a")  # at `now`: not yet
    s.event("deal.registered", "2026-11-20T09:00:00Z", "acme", "a")  # the future
    s.event("content.downloaded", "2026-10-08T09:00:00Z", "acme", "b", "guide")
    s.event("user.login", "2026-10-12T09:00:00Z", "acme")  # the partner's: nobody's
    with engine.connect() as conn:
        ids = dict(conn.execute(select(PartnerUser.key, PartnerUser.id)).all())
        found = facts_mod.facts(conn, now, {ids["a"], ids["c"]})
    assert set(found) == {ids["a"], ids["c"]}  # b was not asked for
    a = found[ids["a"]]
    assert a.first == {
        "user.login": at("2026-10-01T09:00"),
        "content.downloaded": at("2026-10-05T09:00"),
    }
    assert a.last == {
        "user.login": at("2026-10-10T09:00"),
        "content.downloaded": at("2026-10-07T09:00"),
    }
    assert a.last_active == at("2026-10-10T09:00")
    assert a.onboarding_downloads == 2  # two downloads of the guide; the deck is not onboarding
    assert found[ids["c"]] == RepFacts(user_id=ids["c"], key="")  # nothing at all


def test_past_nudges_newest_first_sent_held_out_or_pending(engine):
    book(engine, "a", "b")
    nudge(engine, "a", at("2026-10-01T01:00:00"), "sent", "user.login")
    nudge(engine, "a", at("2026-10-08T01:00:00"), "holdout", "user.login")
    nudge(engine, "a", at("2026-10-15T01:00:00"), "pending", "content.downloaded")
    nudge(engine, "a", at("2026-10-20T01:00:00"), "failed", "content.downloaded")
    nudge(engine, "a", at("2026-10-21T01:00:00"), "undeliverable", None)
    nudge(engine, "a", at("2026-10-22T01:00:00"), "sent", None, job="coaching-alerts")
    nudge(engine, "a", AS_OF, "sent", "any")  # at `now`: not yet in the past
    nudge(engine, "b", at("2026-09-01T01:00:00"), "sent", "any")
    with engine.connect() as conn:
        ids = dict(conn.execute(select(PartnerUser.key, PartnerUser.id)).all())
        history = facts_mod.past_nudges(conn, AS_OF)
    assert history == {
        ids["a"]: [
            PastNudge(at("2026-10-15T01:00"), "pending", "content.downloaded"),
            PastNudge(at("2026-10-08T01:00"), "holdout", "user.login"),
            PastNudge(at("2026-10-01T01:00"), "sent", "user.login"),
        ],
        ids["b"]: [PastNudge(at("2026-09-01T01:00"), "sent", "any")],
    }


def test_progressed_means_the_target_after_the_nudge():
    t = at("2026-10-10T00:00")
    f = RepFacts(
        user_id=1,
        key="a",
        first={"user.login": t - timedelta(days=5), "lead.registered": t + timedelta(days=1)},
        last={"user.login": t - timedelta(days=1), "lead.registered": t + timedelta(days=1)},
        last_active=t + timedelta(days=1),
    )
    assert facts_mod.progressed(f, PastNudge(t, "sent", "lead.registered"))
    assert not facts_mod.progressed(f, PastNudge(t, "sent", "user.login"))  # only before
    assert not facts_mod.progressed(f, PastNudge(t, "sent", "deal.registered"))  # never
    assert facts_mod.progressed(f, PastNudge(t, "sent", "any"))
    assert facts_mod.progressed(f, PastNudge(t, "sent", None))
    later = PastNudge(t + timedelta(days=1), "sent", "any")  # the activity is at that instant
    assert not facts_mod.progressed(f, later)
    assert not facts_mod.progressed(RepFacts(user_id=2, key="b"), PastNudge(t, "sent", "any"))


def test_onboarding_assets_most_downloaded_in_the_last_ninety_days(engine):
    now = AS_OF
    s = book(engine, "a", "b")
    s.asset("guide", "onboarding").asset("deck", "onboarding").asset("faq", "onboarding")
    s.asset("aaa-intro", "onboarding").asset("price", "sales")
    recent, old = "2026-11-01T09:00:00Z", "2026-08-01T09:00:00Z"  # old: 106 days before now
    s.events("content.downloaded", [recent] * 3, "acme", "a", "deck")  # deck: 3
    s.events("content.downloaded", [recent], "acme", "b", "faq")  # faq: 1
    s.events("content.downloaded", [old] * 5, "acme", "a", "guide")  # guide: 0 (too old)
    s.events("content.downloaded", [recent] * 9, "acme", "a", "price")  # not onboarding
    s.events("content.downloaded", [now.isoformat()] * 4, "acme", "b", "faq")  # at now: not yet
    with engine.connect() as conn:
        top = [a["key"] for a in facts_mod.onboarding_assets(conn, now, 10)]
        two = facts_mod.onboarding_assets(conn, now, 2)
        none = facts_mod.onboarding_assets(conn, now, 0)
    # deck 3, faq 1, then the never-downloaded ones by key: aaa-intro, guide.
    assert top == ["deck", "faq", "aaa-intro", "guide"]
    assert two == [
        {"key": "deck", "title": "deck", "url": "https://x/deck"},
        {"key": "faq", "title": "faq", "url": "https://x/faq"},
    ]
    assert none == []


def test_the_seeded_book_gets_the_expected_actions(engine):
    seed(engine)
    now = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    with engine.connect() as conn:
        people = facts_mod.reps(conn, KpiParams.build(as_of=now))
        found = facts_mod.facts(conn, now, {r.user_id for r in people})
    rules = load_rules()
    actions = {r.key: choose(rules, found[r.user_id], now).id for r in people}
    assert actions == {
        "acme-ny": "log_in",  # never logged in
        "acme-tokyo": "onboarding_content",  # logged in, nothing else
        "globex-ja": "first_deal",  # logged in, guide read, three leads
        "initech-nochan": "log_in",
    }
    # Their latest activity is what reactivate will look at: globex-ja's three leads.
    globex_ja = next(r.user_id for r in people if r.key == "globex-ja")
    assert found[globex_ja].last_active == at("2026-10-01T09:00")
