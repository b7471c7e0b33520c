"""Reading partner activity from the monthly rollup (`partner_month_activity`), exactly.

The rollup holds, per partner, UTC month and event type, the count and the first and last
instant (bot/store/rollups.py; triggers keep it). Two questions KPIs ask of many partners
at once are answered from it, never approximately:

- *Was the partner active in [a, b)?* A month's first and last instant settle it for a
  window spanning months: the first month counts if its last event is at or after `a`,
  the last month if its first event is before `b`, any month between counts. Inside one
  month the first or last instant may fall in the window (active) or both lie on one side
  (not); only when they straddle the window is the log itself probed, for that partner.
- *How many events of these types in [a, b), and what is their amount?* The whole months
  inside the window are summed from the rollup; only the partial months at its ends are
  read from the log.

So retention's twelve monthly windows, the dormant check and the tiers' active months
cost one grouped read of the rollup for the cohort (its rows follow the scope), not a
dozen probes of the event log per partner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
)

from bot.kpi.params import KpiParams
from bot.kpi.sql import E, M, P, active_type_filter, cohort_where, in_cohort, narrowed

Window = tuple[datetime, datetime]
_CHUNK = 1000  # partner ids per IN (…) list of a fallback probe


def utc_month(instant: datetime) -> datetime:
    """The start of `instant`'s UTC month: the rollup's `month`."""
    return instant.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_utc_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def month_row_tests(
    start: datetime, end: datetime
) -> tuple[ColumnElement[bool], ColumnElement[bool] | None]:
    """(this rollup row proves activity in [start, end), this row leaves it open).

    The second is None where no row can leave it open (windows spanning months, empty
    windows); where it holds and no row proves activity, the log must be probed.
    """
    if start >= end:
        return false(), None
    first_month, last_month = utc_month(start), utc_month(end)
    if first_month < last_month:
        return (
            and_(
                M.c.month >= first_month,
                M.c.month <= last_month,
                or_(M.c.month > first_month, M.c.last_at >= start),
                or_(M.c.month < last_month, M.c.first_at < end),
            ),
            None,
        )
    proves = and_(
        M.c.month == first_month,
        or_(
            and_(M.c.first_at >= start, M.c.first_at < end),
            and_(M.c.last_at >= start, M.c.last_at < end),
        ),
    )
    return proves, and_(M.c.month == first_month, M.c.first_at < start, M.c.last_at >= end)


def partner_active_between(
    params: KpiParams, start: datetime, end: datetime
) -> ColumnElement[bool]:
    """EXISTS an active event of the outer query's partner in [start, end), for one
    partner at a time (a correlated form of `window_flags`)."""
    proves, open_ = month_row_tests(start, end)
    mine = (M.c.partner_id == P.c.id, active_type_filter(params, M.c.type))
    proved = exists(select(1).where(*mine, proves))
    if open_ is None:
        return proved
    return or_(
        proved,
        and_(exists(select(1).where(*mine, open_)), partner_event_between(params, start, end)),
    )


def partner_event_between(params: KpiParams, start: datetime, end: datetime) -> ColumnElement[bool]:
    """EXISTS an active event of the outer query's partner in [start, end) in the log
    itself: one (partner, time) index probe."""
    return exists(
        select(1).where(
            E.c.partner_id == P.c.id,
            E.c.occurred_at >= start,
            E.c.occurred_at < end,
            active_type_filter(params),
        )
    )


def window_flags(
    conn: Connection, params: KpiParams, windows: Sequence[Window], *, streak: bool = False
) -> dict[int, list[bool]]:
    """{partner id: [active in window i]} for the cohort's partners (a partner missing
    here was active in none of the windows).

    `streak=True`: only the leading run of active windows matters (retention counts it),
    so a flag after the first inactive window may be False whatever happened then.

    How depends on the engine, as measured on the L benchmark: PostgreSQL reads the
    rollup once, grouped by partner (`_grouped_flags`; 4× faster than probing); SQLite
    seeks each partner's rollup rows window by window and stops a streak at its first gap
    (`_probed_flags`; 3× faster than its grouped aggregate). Both are exact.
    """
    if not windows:
        return {}
    if conn.dialect.name == "sqlite":
        return _probed_flags(conn, params, windows, streak)
    return _grouped_flags(conn, params, windows)


def _probed_flags(
    conn: Connection, params: KpiParams, windows: Sequence[Window], streak: bool
) -> dict[int, list[bool]]:
    n = len(windows)
    if streak:  # the index of the first inactive window: a CASE chain stops probing there
        first_gap = case(
            *[(not_(partner_active_between(params, a, b)), literal(i)) for i, (a, b) in
              enumerate(windows)],
            else_=literal(n),
        )  # fmt: skip
        query = select(P.c.id, first_gap).where(cohort_where(params))
        return {pid: [i < gap for i in range(n)] for pid, gap in conn.execute(query)}
    probes = [partner_active_between(params, a, b) for a, b in windows]
    query = select(P.c.id, *probes).where(cohort_where(params))
    return {row[0]: [bool(v) for v in row[1:]] for row in conn.execute(query)}


def _grouped_flags(
    conn: Connection, params: KpiParams, windows: Sequence[Window]
) -> dict[int, list[bool]]:
    tests = [month_row_tests(a, b) for a, b in windows]
    columns: list[Any] = []
    for proves, open_ in tests:
        columns.append(func.max(case((proves, 1), else_=0)))
        if open_ is not None:
            columns.append(func.max(case((open_, 1), else_=0)))
    query = select(M.c.partner_id, *columns).where(
        M.c.month >= min(utc_month(a) for a, _ in windows),
        M.c.month <= max(utc_month(b) for _, b in windows),
        active_type_filter(params, M.c.type),
    )
    if narrowed(params):
        query = query.where(M.c.partner_id.in_(select(P.c.id).where(cohort_where(params))))
    flags: dict[int, list[bool]] = {}
    unsettled: dict[int, list[int]] = defaultdict(list)  # window -> partner ids to probe
    for row in conn.execute(query.group_by(M.c.partner_id)):
        partner_id, values, at = row[0], row[1:], 0
        mine = []
        for i, (_, open_) in enumerate(tests):
            proved = bool(values[at])
            at += 1
            if open_ is not None:
                if not proved and values[at]:
                    unsettled[i].append(partner_id)
                at += 1
            mine.append(proved)
        flags[partner_id] = mine
    for i, ids in unsettled.items():
        start, end = windows[i]
        for chunk in range(0, len(ids), _CHUNK):
            probe = (
                select(E.c.partner_id)
                .where(
                    E.c.partner_id.in_(ids[chunk : chunk + _CHUNK]),
                    E.c.occurred_at >= start,
                    E.c.occurred_at < end,
                    active_type_filter(params),
                )
                .distinct()
            )
            for (partner_id,) in conn.execute(probe):
                flags[partner_id][i] = True
    return flags


def totals_by_partner(
    conn: Connection, params: KpiParams, types: tuple[str, ...], start: datetime, end: datetime
) -> dict[tuple[int, str], tuple[int, Decimal | None]]:
    """{(partner id, type): (events, sum of their amounts or None)} of `types` in
    [start, end), for the cohort's partners (for the whole program, any partner: callers
    look up the cohort's)."""
    totals: dict[tuple[int, str], tuple[int, Decimal | None]] = {}

    def add(partner_id: int, type_: str, n: int, amount: Any) -> None:
        had_n, had_amount = totals.get((partner_id, type_), (0, None))
        if amount is not None:
            amount = Decimal(str(amount))  # SQLite sums amounts as floats
            had_amount = amount if had_amount is None else had_amount + amount
        totals[(partner_id, type_)] = (had_n + int(n), had_amount)

    full_from = utc_month(start)
    if full_from < start:
        full_from = next_utc_month(full_from)
    full_to = utc_month(end)
    pieces: list[Window] = [(start, end)]
    if full_from < full_to:
        rolled = select(M.c.partner_id, M.c.type, func.sum(M.c.events), func.sum(M.c.amount)).where(
            M.c.type.in_(types), M.c.month >= full_from, M.c.month < full_to
        )
        if narrowed(params):
            rolled = rolled.where(M.c.partner_id.in_(select(P.c.id).where(cohort_where(params))))
        for row in conn.execute(rolled.group_by(M.c.partner_id, M.c.type)):
            add(*row)
        pieces = [(start, full_from), (full_to, end)]
    for lo, hi in pieces:
        if lo >= hi:
            continue
        raw = select(E.c.partner_id, E.c.type, func.count(), func.sum(E.c.amount)).where(
            E.c.type.in_(types), E.c.occurred_at >= lo, E.c.occurred_at < hi
        )
        if narrowed(params):
            raw = raw.where(in_cohort(params))
        for row in conn.execute(raw.group_by(E.c.partner_id, E.c.type)):
            add(*row)
    return totals
