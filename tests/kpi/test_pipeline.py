"""KPI `pipeline`: deal value registered and won in the period (kpi-spec.md §6).

Every expected figure is worked out by hand from the fixture (comments), and once more by
an independent oracle: plain Python over the rows the test inserted, never the engine.
"""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.core.timeutil import parse_instant
from bot.kpi import KPI_NAMES, KpiParams, Scope, build_report, compute
from bot.kpi.pipeline import money
from tests.builders import Store

UTC = ZoneInfo("UTC")
DEAL = "deal.registered"
WON = "deal.won"
AS_OF, FROM, TO = "2026-04-01", "2026-03-01", "2026-04-01"


def t(text: str):
    return parse_instant(text, UTC, allow_date=True)


def params(**kw) -> KpiParams:
    return KpiParams.build(as_of=t(AS_OF), period_from=t(FROM), period_to=t(TO), **kw)


def pipeline(engine, p: KpiParams) -> dict:
    with engine.connect() as conn:
        return compute("pipeline", conn, p)


# (type, at, partner, deal id, amount): every event the fixture inserts, for the oracle.
ROWS: list[tuple[str, str, str, str, Decimal | None]] = [
    # acme: D-1 registered twice in the period (1 deal id, 2 events), won in the period
    (DEAL, "2026-03-02T00:00:00Z", "acme", "D-1", Decimal("100000")),
    (DEAL, "2026-03-03T00:00:00Z", "acme", "D-1", Decimal("100000")),
    (WON, "2026-03-20T00:00:00Z", "acme", "D-1", Decimal("90000")),
    # acme: D-2 registered in the period without an amount, won after as_of -> not won
    (DEAL, "2026-03-05T00:00:00Z", "acme", "D-2", None),
    (WON, "2026-04-01T00:00:00Z", "acme", "D-2", Decimal("5000")),  # at as_of: outside
    # acme: D-0 registered before the period and won in it: a won deal of the period,
    # not in win_rate's denominator (its registration is not in the period)
    (DEAL, "2026-01-10T00:00:00Z", "acme", "D-0", Decimal("70000")),
    (WON, "2026-03-10T00:00:00Z", "acme", "D-0", Decimal("70000.5")),
    # globex: G-1 registered in the period; the only won "G-1" is another partner's
    (DEAL, "2026-03-01T00:00:00Z", "globex", "G-1", Decimal("2500.25")),  # exactly at from
    (WON, "2026-03-15T00:00:00Z", "hooli", "G-1", Decimal("1")),
    # hooli: H-1 won before the period (before its registration, even) and registered in it
    (WON, "2026-02-01T00:00:00Z", "hooli", "H-1", None),  # outside the period: not missing
    (DEAL, "2026-03-25T00:00:00Z", "hooli", "H-1", Decimal("0.25")),
    # outside: not a cohort partner (signed after as_of)
    (DEAL, "2026-03-10T00:00:00Z", "outside", "O-1", Decimal("999")),
    (WON, "2026-03-11T00:00:00Z", "outside", "O-1", Decimal("999")),
    # initech: nothing. umbrella: a deal 1 µs before the period ends? no: at `to`, outside
    (DEAL, "2026-04-01T00:00:00Z", "umbrella", "U-1", Decimal("10")),
]
COHORT = ("acme", "globex", "hooli", "initech", "umbrella")


def seed(engine) -> None:
    s = Store(engine)
    for key in COHORT:
        s.partner(key, "2025-01-01").user(f"{key}-1", key)
    s.partner("outside", "2026-05-01").user("outside-1", "outside")
    for type_, at, partner, deal, amount in ROWS:
        s.event(type_, at, partner, f"{partner}-1", deal, amount=amount)


@pytest.fixture
def store(engine, seeded) -> Store:
    """The rows above, seeded once per session on SQLite (tests/conftest.py SeedCache)."""
    seeded(seed)
    return Store(engine)


def test_hand_computed_figures(engine, store):
    result = pipeline(engine, params())
    # registered in [03-01, 04-01), cohort: acme D-1 ×2, acme D-2, globex G-1, hooli H-1 = 5
    assert result["registered_deals"] == 5
    # 100000 + 100000 + 0 (D-2 has none) + 2500.25 + 0.25 = 202500.5
    assert result["registered_amount"] == 202500.5
    # won in the period, cohort: acme D-1 (90000), acme D-0 (70000.5), hooli G-1 (1) = 3
    assert result["won_deals"] == 3
    assert result["won_amount"] == 160001.5
    # distinct (partner, deal id) registered in the period: acme D-1, acme D-2, globex G-1,
    # hooli H-1 = 4. won before as_of by the same partner: acme D-1 (yes), acme D-2 (won at
    # as_of: no), globex G-1 (only hooli won a G-1: no), hooli H-1 (won 02-01: yes) -> 2/4
    assert result["win_rate"] == 0.5
    # in the period without an amount: acme D-2's registration = 1 (hooli's amount-less won
    # is before the period)
    assert result["missing_amount"] == 1
    assert result["by_partner"] == [
        {"key": "acme", "registered_amount": 200000, "won_amount": 160000.5, "won_deals": 2},
        {"key": "globex", "registered_amount": 2500.25, "won_amount": 0, "won_deals": 0},
        {"key": "hooli", "registered_amount": 0.25, "won_amount": 1, "won_deals": 1},
        {"key": "initech", "registered_amount": 0, "won_amount": 0, "won_deals": 0},
        {"key": "umbrella", "registered_amount": 0, "won_amount": 0, "won_deals": 0},
    ]
    # whole amounts are ints, as in the spec's example
    assert isinstance(result["by_partner"][0]["registered_amount"], int)


def oracle(partners: tuple[str, ...]) -> dict:
    """The same figures from ROWS in plain Python: the spec's words, read literally."""
    start, end, as_of = t(FROM), t(TO), t(AS_OF)
    rows = [(ty, t(at), p, d, a) for ty, at, p, d, a in ROWS if p in partners]
    period = [r for r in rows if start <= r[1] < end]
    reg = [r for r in period if r[0] == DEAL]
    won = [r for r in period if r[0] == WON]
    ids = {(p, d) for _, _, p, d, _ in reg}
    won_before = {(p, d) for ty, at, p, d, _ in rows if ty == WON and at < as_of}

    def total(rs) -> Decimal:
        return sum((a or Decimal(0) for *_, a in rs), Decimal(0))

    return {
        "registered_deals": len(reg),
        "registered_amount": money(total(reg)),
        "won_deals": len(won),
        "won_amount": money(total(won)),
        "win_rate": len(ids & won_before) / len(ids) if ids else None,
        "missing_amount": sum(1 for *_, a in reg + won if a is None),
        "by_partner": [
            {
                "key": k,
                "registered_amount": money(total([r for r in reg if r[2] == k])),
                "won_amount": money(total([r for r in won if r[2] == k])),
                "won_deals": sum(1 for r in won if r[2] == k),
            }
            for k in sorted(partners)
        ],
    }


@pytest.mark.parametrize("partner", [None, "acme", "globex", "hooli", "initech"])
def test_matches_the_oracle(engine, store, partner):
    scope = Scope(partner_key=partner) if partner else Scope()
    expected = oracle((partner,) if partner else COHORT)
    assert pipeline(engine, params(scope=scope)) == expected


def test_no_registration_in_the_period_means_no_win_rate(engine, store):
    result = pipeline(engine, params(scope=Scope(partner_key="initech")))
    assert result["registered_deals"] == 0
    assert result["win_rate"] is None
    assert result["by_partner"] == [
        {"key": "initech", "registered_amount": 0, "won_amount": 0, "won_deals": 0}
    ]


def test_a_win_after_as_of_counts_once_as_of_moves(engine, store):
    # as_of one second after acme's D-2 won (period unchanged): D-2 now counts, 3/4
    p = KpiParams.build(as_of=t("2026-04-01T00:00:01Z"), period_from=t(FROM), period_to=t(TO))
    assert pipeline(engine, p)["win_rate"] == 0.75


def test_in_the_report_beside_the_five(engine, store):
    assert "pipeline" in KPI_NAMES
    with engine.connect() as conn:
        report = build_report(conn, params())
    assert report["pipeline"]["registered_deals"] == report["deals"]["registered"] == 5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 0),
        (Decimal("1300000.0000"), 1300000),
        (Decimal("0.1") + Decimal("0.2"), 0.3),
        (0.1 + 0.2, 0.3),
        (Decimal("12.34567"), 12.3457),
    ],
)
def test_amounts_are_json_numbers(value, expected):
    got = money(value)
    assert got == expected
    assert type(got) is type(expected)
