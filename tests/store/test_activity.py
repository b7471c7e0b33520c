"""bot.store.activity against a real database (SQLite and, with PRM_TEST_DATABASE_URL,
PostgreSQL): per-rep first/last times, onboarding downloads and the most downloaded
onboarding assets. Expected values are read off the events written beside them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.core import events
from bot.core.events import ACTIVITY_TYPES, ONBOARDING_TAG
from bot.store import activity
from bot.store.handles import reps
from tests.builders import Store

NOW = datetime(2026, 11, 15, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def user_ids(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {k: i for k, i in conn.execute(select(reps.c.key, reps.c.id))}


def seed(engine) -> Store:
    return (
        Store(engine)
        .partner("acme")
        .user("a", "acme")
        .user("b", "acme")
        .user("c", "acme")
        .asset("guide", ONBOARDING_TAG)
        .asset("intro", ONBOARDING_TAG, title="Intro")
        .asset("pricing", "sales")
    )


def test_rep_first_times_per_type_before_the_instant(engine):
    (
        seed(engine)
        .events(events.LOGIN, ["2026-11-03T00:00:00Z", "2026-11-01T00:00:00Z"], "acme", "a")
        .event(events.LEAD, "2026-11-20T00:00:00Z", "acme", "a")  # after: not counted
        .event(events.LOGIN, "2026-10-01T00:00:00Z", "acme", "b")  # someone else
        .event(events.DOWNLOAD, "2026-11-02T00:00:00Z", "acme", "a", "guide")
    )
    with engine.connect() as conn:
        found = activity.rep_first_times(conn, "a", [events.LOGIN, events.LEAD], NOW)
        assert found == {events.LOGIN: at("2026-11-01T00:00:00")}
        assert activity.rep_first_times(conn, "c", [events.LOGIN], NOW) == {}


def test_rep_spans_only_the_reps_own_events_of_the_types_asked(engine):
    (
        seed(engine)
        .events(events.LOGIN, ["2026-11-01T00:00:00Z", "2026-11-09T00:00:00Z"], "acme", "a")
        .event(events.APPROVED, "2026-11-10T00:00:00Z", "acme", "a")  # not asked for
        .event(events.LOGIN, "2026-11-16T00:00:00Z", "acme", "a")  # after `before`
        .event(events.LOGIN, "2026-11-05T00:00:00Z", "acme")  # no user: nobody's
        .event(events.LEAD, "2026-11-04T00:00:00Z", "acme", "b")
    )
    uid = user_ids(engine)
    with engine.connect() as conn:
        spans = activity.rep_spans(conn, NOW, ACTIVITY_TYPES, {uid["a"], uid["c"]})
    assert set(spans) == {uid["a"]}  # b was not asked for, c did nothing
    assert spans[uid["a"]].first == {events.LOGIN: at("2026-11-01T00:00:00")}
    assert spans[uid["a"]].last == {events.LOGIN: at("2026-11-09T00:00:00")}


def test_onboarding_downloads_count_only_onboarding_assets(engine):
    (
        seed(engine)
        .event(events.DOWNLOAD, "2026-11-01T00:00:00Z", "acme", "a", "guide")
        .event(events.DOWNLOAD, "2026-11-02T00:00:00Z", "acme", "a", "intro")
        .event(events.DOWNLOAD, "2026-11-03T00:00:00Z", "acme", "b", "pricing")  # not onboarding
        .event(events.DOWNLOAD, "2026-11-20T00:00:00Z", "acme", "b", "guide")  # too late
    )
    uid = user_ids(engine)
    with engine.connect() as conn:
        assert activity.onboarding_downloads(conn, NOW) == {uid["a"]: 2}


def test_popular_onboarding_assets_most_downloaded_in_90_days_then_by_key(engine):
    (
        seed(engine)
        .asset("zeta", ONBOARDING_TAG)
        .events(events.DOWNLOAD, ["2026-11-01T00:00:00Z"] * 2, "acme", "a", "zeta")
        .event(events.DOWNLOAD, "2026-11-02T00:00:00Z", "acme", "b", "intro")
        .events(events.DOWNLOAD, ["2026-05-01T00:00:00Z"] * 5, "acme", "b", "guide")  # too old
        .events(events.DOWNLOAD, ["2026-11-03T00:00:00Z"] * 9, "acme", "c", "pricing")
    )
    with engine.connect() as conn:
        found = activity.popular_onboarding_assets(conn, NOW)
    assert found == [
        {"key": "zeta", "title": "zeta", "url": "https://x/zeta"},
        {"key": "intro", "title": "Intro", "url": "https://x/intro"},
        {"key": "guide", "title": "guide", "url": "https://x/guide"},
    ]
