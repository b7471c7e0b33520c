"""Names where people read (issue 11): `prm kpi` tables name every partner, rep and asset
(`--keys` adds the keys), JSON/CSV keep the spec's keys, `/prm kpi` lists names; a name is
never markup, neither for Rich nor for Slack."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from bot.cli import tables
from tests.builders import Store

MANAGER = "UMGRNAMES"
CAROL = "UCAROLLOW"
PERIOD = ["--as-of", "2026-11-01", "--from", "2026-10-02", "--to", "2026-11-01"]
ENV = {"PRM_AS_OF": "2026-11-01T00:00:00Z"}
WIDE = {"COLUMNS": "250"}
EVIL = "[bold red]Evil[/bold red] <!channel>"
PARTNERS = {"p-1": "Acme Corp", "p-2": EVIL, "p-3": "株式会社ほくと"}
REPS = {
    "p-1-a": ("p-1", "Alice Able"),
    "p-2-a": ("p-2", "[blink]Bob[/]"),
    "p-3-a": ("p-3", "山田 花子"),
}


def seed(engine) -> None:
    s = Store(engine).asset("deck-1", "onboarding", title="Partner Deck 2026")
    for key, name in PARTNERS.items():
        s.partner(key, name=name, manager=MANAGER)
    for key, (partner, name) in REPS.items():
        s.user(key, partner, name=name)
    for i, (key, (partner, _)) in enumerate(REPS.items()):
        s.events("lead.registered", ["2026-10-10T00:00:00Z"] * (12 + i), partner, key, "L")
        s.events("deal.registered", ["2026-10-11T00:00:00Z"] * (3 + i), partner, key, "D")
    s.event("content.downloaded", "2026-10-12T00:00:00Z", "p-1", "p-1-a", "deck-1")
    # Carol: 2 leads, 3 deals (deals registered without a lead): no "top rep", and her
    # 150 % conversion is explained
    s.user("p-1-b", "p-1", name="Carol Low", slack_user_id=CAROL)
    s.events("lead.registered", ["2026-10-10T00:00:00Z"] * 2, "p-1", "p-1-b", "L")
    s.events("deal.registered", ["2026-10-11T00:00:00Z"] * 3, "p-1", "p-1-b", "D")


@pytest.fixture
def program(engine, seeded) -> Store:
    """The program above, seeded once per session on SQLite (tests/conftest.py SeedCache)."""
    seeded(seed)
    return Store(engine)


def test_top_reps_need_leads_and_over_100_percent_is_explained(cli, program):
    out = cli("kpi", "reps", *PERIOD, env=WIDE).stdout
    assert "Top reps in the period (at least 10 leads)" in out
    assert "Carol Low" not in out and "1 more active reps have fewer leads" in out
    en = cli("slack", "ask", CAROL, "kpi", "--locale", "en", env=ENV).stdout
    assert (
        "conversion 150.0 % (more deals than leads: some deals were registered without a lead)"
        in en
    )
    ja = cli("slack", "ask", CAROL, "me", "--locale", "ja", env=ENV).stdout
    assert "150.0%(リード数を上回る案件数" in ja
    manager = cli("slack", "ask", MANAGER, "kpi reps", "--locale", "en", env=ENV).stdout
    assert "Top reps (at least 10 leads):" in manager and "Carol Low" not in manager
    assert "1 more active rep has fewer leads than that and is not ranked." in manager


def test_deals_and_reps_tables_name_everyone(cli, program):
    deals = cli("kpi", "deals", *PERIOD, env=WIDE)
    assert deals.exit_code == 0, deals.output
    for name in PARTNERS.values():
        assert name in deals.stdout  # printed as typed: no Rich markup taken from data
    reps = cli("kpi", "reps", *PERIOD, env=WIDE)
    assert reps.exit_code == 0, reps.output
    for _, name in REPS.values():
        assert name in reps.stdout
    for out in (deals.stdout, reps.stdout):
        assert not re.search(r"\bp-\d(-a)?\b", out)  # no bare keys


def test_keys_flag_adds_the_keys(cli, program):
    out = cli("kpi", "reps", *PERIOD, "--keys", env=WIDE)
    assert re.search(r"Alice Able\s+p-1-a", out.stdout)
    assert re.search(r"Acme Corp\s+p-1", out.stdout)
    content = cli("kpi", "content", *PERIOD, env=WIDE)
    assert "Partner Deck 2026" in content.stdout and "deck-1" not in content.stdout


def test_machine_formats_keep_keys(cli, program):
    report = json.loads(cli("kpi", "all", *PERIOD, "--format", "json").stdout)
    assert [p["key"] for p in report["deals"]["by_partner"]] == ["p-1", "p-2", "p-3"]
    assert [r["key"] for r in report["reps"]["reps"]] == ["p-1-a", "p-1-b", "p-2-a", "p-3-a"]
    rows = list(csv.reader(io.StringIO(cli("kpi", "all", *PERIOD, "--format", "csv").stdout)))
    assert ["deals", "p-2", "by_partner.registered", "4"] in rows  # Bob's 4
    assert not any("Acme Corp" in cell for row in rows for cell in row)


def test_a_name_cannot_inject_rich_markup():
    namer = tables.Namer(partners={"k": "[bold]x[/bold]"})
    text = namer.partner("k")
    assert text.plain == "[bold]x[/bold]" and not text.spans


def test_slack_lists_name_partners_and_reps(cli, program):
    deals = cli("slack", "ask", MANAGER, "kpi deals", "--locale", "en", env=ENV)
    assert deals.exit_code == 0, deals.output
    assert "Acme Corp: 6" in deals.stdout and "株式会社ほくと: 5" in deals.stdout
    blocks = cli("slack", "ask", MANAGER, "kpi deals", "--json", env=ENV).stdout
    assert "<!channel>" not in blocks and "&lt;!channel&gt;" in blocks  # data is never markup
    reps = cli("slack", "ask", MANAGER, "kpi reps", "--locale", "ja", env=ENV)
    assert "山田 花子(株式会社ほくと)" in reps.stdout and "Alice Able(Acme Corp)" in reps.stdout
    assert "`p-" not in deals.stdout + reps.stdout
