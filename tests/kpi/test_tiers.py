"""KPI `tiers` (kpi-spec.md §7) against an independent oracle: plain Python over the rows
the test inserted (never the engine), with a program file the engine has never seen, in
Tokyo time so that "t − N months" crosses month ends; the whole program and one manager's
book, through `prm kpi tiers --format json` as a user runs it."""

from __future__ import annotations

import calendar
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.kpi.program import ProgramError, load_program, parse
from bot.kpi.tiers import standing
from tests.builders import Store

TOKYO = ZoneInfo("Asia/Tokyo")
AS_OF = datetime(2026, 3, 31, 15, 0, tzinfo=UTC)  # 2026-04-01 00:00 Tokyo
ACTIVE = ("user.login", "content.downloaded", "training.completed", "lead.registered",
          "deal.registered", "deal.won")  # fmt: skip
PROGRAM = """\
certifications:
  - {key: a, course: course-a, valid_months: 6}
  - {key: b, course: course-b, valid_months: 1}
tiers:
  - key: entry
    requires: {leads_registered_12m: 1}
  - key: bronze
    requires: {deals_registered_12m: 2, certified_reps: 1}
  - key: gold
    requires: {won_deals_12m: 2, won_amount_12m: 1500.5, active_months_3m: 3, certified_reps: 2}
"""
MEASURES = ("won_deals_12m", "won_amount_12m", "deals_registered_12m", "leads_registered_12m",
            "certified_reps", "active_months_3m")  # fmt: skip


def months_before(instant: datetime, months: int) -> datetime:
    local = instant.astimezone(TOKYO)
    y, m = divmod(local.year * 12 + local.month - 1 - months, 12)
    day = min(local.day, calendar.monthrange(y, m + 1)[1])
    return local.replace(year=y, month=m + 1, day=day).astimezone(UTC)


def world(seed: int):
    """Partners, reps and events: random, but dense around every boundary."""
    rng = random.Random(seed)
    partners = []
    for i in range(14):
        signed = (
            AS_OF - timedelta(days=rng.choice([40, 200, 500, 900]))
            if i
            else AS_OF + timedelta(days=3)
        )
        partners.append({
            "key": f"p{i:02d}",
            "tier": rng.choice(["entry", "bronze", "gold", "platinum", None]),
            "manager": rng.choice(["UMGR1", "UMGR2"]),
            "signed": signed,
            "users": [f"p{i:02d}-u{j}" for j in range(rng.randint(1, 4))],
        })  # fmt: skip
    edges = [months_before(AS_OF, n) for n in (1, 2, 3, 6, 12)]
    events = []
    for p in partners:
        for _ in range(rng.randint(0, 30)):
            base = rng.choice([*edges, AS_OF, AS_OF - timedelta(days=rng.randint(0, 420))])
            at = base + timedelta(seconds=rng.choice([-1, 0, 1, 3600 * rng.randint(-40, 40)]))
            type_ = rng.choice(ACTIVE)
            obj = (
                rng.choice(["course-a", "course-b", "course-c"])
                if type_ == "training.completed"
                else None
            )
            amount = None if rng.random() < 0.2 else Decimal(rng.choice(["100", "250.25", "1000"]))
            events.append({
                "type": type_, "at": at, "partner": p["key"], "user": rng.choice(p["users"]),
                "obj": obj, "amount": amount if type_.startswith("deal") else None,
            })  # fmt: skip
    return partners, events


def load(engine, partners, events) -> None:
    s = Store(engine, TOKYO)
    for p in partners:
        s.partner(p["key"], p["signed"], tier=p["tier"], manager=p["manager"])
        for u in p["users"]:
            s.user(u, p["key"])
    for e in events:
        s.event(e["type"], e["at"], e["partner"], e["user"], e["obj"], amount=e["amount"])


def oracle(partners, events, manager: str | None = None) -> dict:
    program = load_program_text(PROGRAM)
    year = months_before(AS_OF, 12)
    cohort = [p for p in partners if p["signed"] < AS_OF and manager in (None, p["manager"])]
    rows = []
    for p in cohort:
        mine = [e for e in events if e["partner"] == p["key"] and e["at"] < AS_OF]
        in_year = [e for e in mine if e["at"] >= year]
        won = [e for e in in_year if e["type"] == "deal.won"]
        amount = sum((e["amount"] or Decimal(0) for e in won), Decimal(0))
        certs = {("course-a", 6), ("course-b", 1)}
        certified = {
            e["user"] for e in mine for course, months in certs
            if e["type"] == "training.completed" and e["obj"] == course
            and e["at"] >= months_before(AS_OF, months)
        }  # fmt: skip
        windows = [(months_before(AS_OF, i + 1), months_before(AS_OF, i)) for i in range(3)]
        measures = {
            "won_deals_12m": len(won),
            "won_amount_12m": int(amount) if amount == int(amount) else float(amount),
            "deals_registered_12m": sum(e["type"] == "deal.registered" for e in in_year),
            "leads_registered_12m": sum(e["type"] == "lead.registered" for e in in_year),
            "certified_reps": len(certified),
            "active_months_3m": sum(any(a <= e["at"] < b for e in mine) for a, b in windows),
        }
        qualifies = None
        nxt = None
        for tier in program.tiers:
            if all(measures[m] >= v for m, v in tier.requires):
                qualifies = tier.key
            else:
                nxt = tier
                break
        missing = {}
        if nxt is not None:
            missing = {m: v - measures[m] for m, v in nxt.requires if measures[m] < v}
        rows.append({"key": p["key"], "assigned": p["tier"], "qualifies": qualifies,
                     "next": nxt.key if nxt else None, "missing": missing,
                     "measures": measures})  # fmt: skip
    order = {t.key: i for i, t in enumerate(program.tiers)}
    up = sorted(r["key"] for r in rows if r["assigned"] in order
                and order.get(r["qualifies"], -1) > order[r["assigned"]])  # fmt: skip
    down = sorted(r["key"] for r in rows if r["assigned"] in order
                  and order.get(r["qualifies"], -1) < order[r["assigned"]])  # fmt: skip
    levels = [
        {
            "key": t.key,
            "qualifying": sum(r["qualifies"] == t.key for r in rows),
            "assigned": sum(r["assigned"] == t.key for r in rows),
        }
        for t in program.tiers
    ]
    return {"levels": levels, "partners": sorted(rows, key=lambda r: r["key"]),
            "changes": {"up": up, "down": down}}  # fmt: skip


def load_program_text(text: str):
    import yaml

    from bot.kpi.program import _Lines

    return parse(yaml.load(text, Loader=_Lines))


def close(a, b) -> bool:
    """Equal, numbers to the cent (amounts are sums of decimals)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(a - b) < 1e-6
    return a == b


@pytest.mark.parametrize("seed", [1, 2])
def test_the_report_equals_an_independent_implementation(cli, engine, tmp_path, seed):
    partners, events = world(seed)
    load(engine, partners, events)
    program = tmp_path / "program.yml"
    program.write_text(PROGRAM, encoding="utf-8")
    env = {"PRM_PROGRAM": str(program), "PRM_TIMEZONE": "Asia/Tokyo"}
    for manager in (None, "UMGR1"):
        args = ["kpi", "tiers", "--format", "json", "--as-of", AS_OF.isoformat()]
        if manager:
            args += ["--manager", manager]
        result = cli(*args, env=env)
        assert result.exit_code == 0, result.output
        got = json.loads(result.stdout)
        got = got.get("tiers", got)
        want = oracle(partners, events, manager)
        if manager is None:  # the data tells the tiers apart
            assert len({r["qualifies"] for r in want["partners"]}) >= 2
        assert close(got, want), (
            manager,
            json.dumps(got)[:2000],
            json.dumps(want, default=str)[:2000],
        )


def test_standing_needs_every_tier_below():
    program = load_program_text(PROGRAM)
    values = dict.fromkeys(MEASURES, 10_000)
    values["leads_registered_12m"] = 0  # fails the lowest tier: qualifies for nothing
    assert standing(program, values) == (None, "entry")
    values["leads_registered_12m"] = 1
    assert standing(program, values) == ("gold", None)
    values["deals_registered_12m"] = 0  # bronze fails: gold cannot count either
    assert standing(program, values) == ("entry", "bronze")


def test_the_csv_and_the_table(cli, engine, tmp_path):
    partners, events = world(3)
    load(engine, partners, events)
    program = tmp_path / "program.yml"
    program.write_text(PROGRAM, encoding="utf-8")
    env = {"PRM_PROGRAM": str(program), "PRM_TIMEZONE": "Asia/Tokyo"}
    csv = cli("kpi", "tiers", "--format", "csv", "--as-of", AS_OF.isoformat(), env=env)
    assert csv.exit_code == 0, csv.output
    assert "tiers,p01,partners.measures.won_deals_12m," in csv.stdout
    table = cli("kpi", "tiers", "--as-of", AS_OF.isoformat(), env=env)
    assert table.exit_code == 0 and "Program tiers" in table.stdout


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("tiers: []\n", "line 1: `tiers` needs at least one tier"),
        (
            "tiers:\n  - key: a\n    requires: {won_deals: 1}\n",
            "line 3: tier `a` requires `won_deals`",
        ),
        ("tiers:\n  - key: a\n  - key: a\n", "line 3: tier `a` is declared twice"),
        (
            "tiers:\n  - key: a\n    requires:\n      certified_reps: -1\n",
            "line 4: `certified_reps`",
        ),
        (
            "certifications:\n  - key: c\n    course: x\ntiers:\n  - key: a\n",
            "line 2: certification `c` needs `valid_months`",
        ),
        (
            "tiers:\n  - key: a\nhealth:\n  weights: {recency: 50}\n",
            "line 4: the health weights add up to 50, not 100",
        ),
        ("tiers:\n  - key: a\nlevels: 1\n", "line 3: unknown key `levels`"),
        ("tiers: [\n", "not valid YAML"),
    ],
)
def test_a_bad_program_file_names_the_line_and_the_key(cli, tmp_path, text, words):
    program = tmp_path / "bad.yml"
    program.write_text(text, encoding="utf-8")
    with pytest.raises(ProgramError) as bad:
        load_program(program)
    assert words in str(bad.value) and str(program) in str(bad.value)
    result = cli("kpi", "tiers", env={"PRM_PROGRAM": str(program)})
    assert result.exit_code != 0 and words in result.output and "Traceback" not in result.output


def test_the_default_program_ships_and_is_valid():
    program = load_program()
    assert program.tier_keys()[0] == "registered" and not program.tiers[0].requires
    assert sum(w for _, w in program.health_weights) == 100


def test_partners_are_in_code_point_order_whatever_the_collation(cli, engine):
    s = Store(engine)
    for key in ("alpha", "Zeta", "_beta", "b-2", "b10"):
        s.partner(key, "2025-01-01")
    result = cli("kpi", "tiers", "--format", "json", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.output
    keys = [p["key"] for p in json.loads(result.stdout)["partners"]]
    assert keys == sorted(keys) == ["Zeta", "_beta", "alpha", "b-2", "b10"]
