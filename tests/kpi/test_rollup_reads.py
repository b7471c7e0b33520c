"""What the KPIs read from the monthly rollup equals what the log says: `partner_active_between`
against a probe of the log, `counts_by_partner` against a count of it, for windows across
months, inside one month, on the month edges and empty, for the program and a narrowed scope."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, func, select

from bot.kpi.activity import (
    partner_active_between,
    partner_event_between,
    totals_by_partner,
    window_flags,
)
from bot.kpi.params import KpiParams, Scope
from bot.kpi.sql import E, F, P, cohort_where, stored_types
from tests.builders import Store

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _instants(rng: random.Random) -> list[datetime]:
    edges = [datetime(2026, m, 1, tzinfo=UTC) for m in (2, 3, 4)]
    near = [e + timedelta(microseconds=d) for e in edges for d in (-1, 0, 1)]
    spread = [BASE + timedelta(seconds=rng.randrange(0, 120 * 86400)) for _ in range(40)]
    return near + spread


def _store(engine: Engine, rng: random.Random) -> list[datetime]:
    store = Store(engine)
    instants = _instants(rng)
    store.partner("p-none", manager="U0OTHER")
    for n in range(6):  # partners with sparse, dense and no activity
        key = f"p{n}"
        store.partner(key)
        store.user(f"{key}-a", key)
        for at in rng.sample(instants, k=[0, 1, 2, 5, 12, 30][n]):
            type_ = rng.choice(["user.login", "content.downloaded", "deal.won"])
            amount = Decimal(rng.randrange(0, 10**6)) / 100 if type_ == "deal.won" else None
            if amount is not None and rng.random() < 0.2:
                amount = None  # a won deal without an amount
            store.event(type_, at, key, f"{key}-a", "x", amount=amount)
    return instants


def test_rollup_answer_equals_the_log_probe(engine: Engine) -> None:
    rng = random.Random(7)
    instants = _store(engine, rng)
    as_of = datetime(2026, 6, 1, tzinfo=UTC)
    params = KpiParams(as_of=as_of, period_from=BASE, period_to=as_of)
    logins = replace(params, active_types=("user.login",))
    windows = [(a, b) for a in instants[:12] for b in instants[:12] if a <= b]
    windows += [
        (a, a + timedelta(days=d))
        for a in rng.sample(instants, 10)
        for d in (0.000001, 0.5, 3, 29, 31, 45)
    ]
    with engine.connect() as conn:
        for p in (params, logins):
            for start, end in windows:
                rows = conn.execute(
                    select(
                        P.c.key,
                        partner_active_between(p, start, end),
                        partner_event_between(p, start, end),
                    ).order_by(P.c.key)
                ).all()
                for key, rolled, probed in rows:
                    assert bool(rolled) == bool(probed), (key, start, end, p.active_types)
            # The same windows all at once, the way retention and tiers ask.
            probed_by_id = {
                pid: [bool(v) for v in values]
                for pid, *values in conn.execute(
                    select(P.c.id, *(partner_event_between(p, a, b) for a, b in windows))
                )
            }
            flags = window_flags(conn, p, windows)
            for pid, expected in probed_by_id.items():
                assert flags.get(pid, [False] * len(windows)) == expected, pid
            # A streak: only the leading run of active windows is promised.
            run = window_flags(conn, p, windows, streak=True)
            for pid, expected in probed_by_id.items():
                lead = next((i for i, v in enumerate(expected) if not v), len(expected))
                got = run.get(pid, [False] * len(windows))
                assert got[:lead] == expected[:lead] and (lead == len(got) or not got[lead])


def test_rollup_totals_equal_the_log_totals(engine: Engine) -> None:
    rng = random.Random(11)
    instants = _store(engine, rng)
    as_of = datetime(2026, 6, 1, tzinfo=UTC)
    program = KpiParams(as_of=as_of, period_from=BASE, period_to=as_of)
    one = replace(program, scope=Scope(partner_key="p5"))
    types = ("user.login", "deal.won")
    windows = [(a, b) for a in instants[:9] for b in instants[:9] if a <= b]
    windows += [(BASE, as_of), (datetime(2025, 12, 31, 23, tzinfo=UTC), instants[5])]
    with engine.connect() as conn:
        for p in (program, one):
            for start, end in windows:
                query = (
                    select(E.c.partner_id, E.c.type, func.count(), func.sum(E.c.amount))
                    .join(P, P.c.id == E.c.partner_id)
                    .where(
                        E.c.type.in_(types),
                        E.c.occurred_at >= start,
                        E.c.occurred_at < end,
                        cohort_where(p),
                    )
                    .group_by(E.c.partner_id, E.c.type)
                )
                expected = {
                    (pid, t): (n, None if a is None else Decimal(str(a)))
                    for pid, t, n, a in conn.execute(query)
                }
                got = totals_by_partner(conn, p, types, start, end)
                cohort = set(conn.execute(select(P.c.id).where(cohort_where(p))).scalars())
                got = {k: v for k, v in got.items() if k[0] in cohort and v[0]}
                assert got == expected, (start, end, p.scope)


def test_stored_types_walks_the_index_to_every_type_the_store_holds(engine: Engine) -> None:
    with engine.connect() as conn:
        assert stored_types(conn) == set()
    store = Store(engine).partner("a").partner("b").user("a-1", "a").user("b-1", "b")
    store.event("user.login", "2026-01-02T00:00:00Z", "a", "a-1")
    store.event("user.login", "2026-01-03T00:00:00Z", "b", "b-1")
    store.event("deal.won", "2026-01-04T00:00:00Z", "b", "b-1", "D-1")
    store.event("content.downloaded", "2026-01-05T00:00:00Z", "a", "a-1", "kit")
    with engine.connect() as conn:
        distinct = set(conn.execute(select(F.c.type).distinct()).scalars())
        assert stored_types(conn) == distinct == {"user.login", "deal.won", "content.downloaded"}
