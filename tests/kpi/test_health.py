"""KPI `health`: a 0–100 score per partner whose components add up to it, its 7- and
30-day change and the components that moved it, with weights from the program file; and
a big drop reaching the CS digest (bot.domain.coaching)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.coaching import conditions
from bot.kpi import KpiParams, compute
from tests.builders import Store

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def day(n: int) -> datetime:
    """n days before AS_OF, to the second."""
    return AS_OF - timedelta(days=n)


def seed(engine) -> None:
    s = Store(engine).asset("guide", "onboarding").asset("deck", "onboarding").asset("misc")
    # acme: busy until 14 days ago, then silent: its recency slipped this week.
    s.partner("acme", "2025-01-01", manager="UM1", cs="UCS1")
    s.user("acme-a", "acme", "2025-01-02").user("acme-b", "acme", "2025-01-02")
    s.event("user.login", day(14), "acme", "acme-a")
    s.event("content.downloaded", day(14), "acme", "acme-a", "guide")
    s.event("lead.registered", day(15), "acme", "acme-b", "L1")
    s.event("deal.registered", day(16), "acme", "acme-b", "D1")
    # globex: active yesterday, everyone, everything.
    s.partner("globex", "2025-01-01", manager="UM2")
    s.user("globex-a", "globex", "2025-01-02")
    for type_, obj in (("user.login", None), ("content.downloaded", "guide"),
                       ("content.downloaded", "deck"), ("lead.registered", "L2"),
                       ("deal.registered", "D2"), ("deal.registered", "D3"),
                       ("deal.won", "D2")):  # fmt: skip
        s.event(type_, day(1), "globex", "globex-a", obj)
    # initech: signed, nothing else.
    s.partner("initech", "2026-10-15", manager="UM1", cs="UCS1")


def health(engine, **kw) -> dict:
    with engine.connect() as conn:
        return compute("health", conn, KpiParams.build(as_of=AS_OF, **kw))


def by_key(report: dict) -> dict:
    return {p["key"]: p for p in report["partners"]}


def test_the_components_add_up_to_a_score_in_0_to_100(engine):
    seed(engine)
    report = health(engine)
    assert report["weights"] == {"recency": 30, "breadth": 20, "journey": 20, "deals": 20,
                                 "content": 10}  # fmt: skip
    for p in report["partners"]:
        assert 0 <= p["score"] <= 100
        assert sum(c["points"] for c in p["components"]) == pytest.approx(p["score"], abs=1e-9)
        assert [c["component"] for c in p["components"]] == list(report["weights"])
    parts = {c["component"]: c["points"] for c in by_key(report)["globex"]["components"]}
    assert parts == {"recency": 30.0, "breadth": 20.0, "journey": 20.0, "deals": 20.0,
                     "content": 10.0}  # fmt: skip
    acme = {c["component"]: c for c in by_key(report)["acme"]["components"]}
    # 14 idle days: (60 − 14) / 53 of 30 points; 2 of 2 reps active; 1 of 2 guides opened;
    # 1 deal + ½ a lead = 0.75 of momentum; signed → deal registered: 5 of 6 steps.
    assert acme["recency"]["points"] == round((60 - 14) / 53 * 30, 1)
    assert acme["breadth"]["points"] == 20.0 and acme["content"]["points"] == 5.0
    assert acme["deals"]["points"] == 15.0 and acme["journey"]["points"] == round(5 / 6 * 20, 1)
    initech = by_key(report)["initech"]
    assert initech["score"] == 0.0  # signed: nothing done, no rep, no guide opened


def test_the_change_is_explained_by_what_moved(engine):
    seed(engine)
    acme = by_key(health(engine))["acme"]
    week = acme["change_7d"]
    assert week["points"] == pytest.approx(acme["score"] - week["score_before"], abs=1e-9)
    (recency,) = [r for r in week["reasons"] if r["component"] == "recency"]
    # 7 days ago acme was 7 days idle (full points); now 14: −4.0.
    assert recency["points"] == round(round((60 - 14) / 53 * 30, 1) - 30.0, 1)
    assert recency["reason"] == "no activity for 14 days"
    assert recency["text"].startswith("-4") and "no activity for 14 days" in recency["text"]
    month = acme["change_30d"]  # 30 days ago acme had done nothing yet
    assert month["points"] > 0 and month["reasons"][0]["points"] > 0
    assert by_key(health(engine))["initech"]["change_30d"]["points"] is None  # not signed then


def test_weights_come_from_the_program_file_and_the_scope_narrows(cli, engine, tmp_path):
    seed(engine)
    program = tmp_path / "program.yml"
    program.write_text(
        "tiers:\n  - key: registered\nhealth:\n"
        "  weights: {recency: 50, breadth: 0, journey: 0, deals: 50, content: 0}\n"
        "  drop_alert: 3\n",
        encoding="utf-8",
    )
    env = {"PRM_PROGRAM": str(program)}
    out = cli("kpi", "health", "--format", "json", "--as-of", AS_OF.isoformat(), "--partner",
              "acme", env=env)  # fmt: skip
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    report = report.get("health", report)
    (acme,) = report["partners"]
    assert acme["key"] == "acme" and report["drop_alert"] == 3
    assert acme["score"] == pytest.approx(round((60 - 14) / 53 * 50, 1) + 37.5)
    assert report["dropped_7d"] == ["acme"]  # −7.6 in 7 days, more than 3
    table = cli("kpi", "health", "--as-of", AS_OF.isoformat(), env=env)
    assert table.exit_code == 0 and "Partner health" in table.stdout


def test_a_big_drop_reaches_the_cs_digest_with_its_reasons(engine, tmp_path):
    seed(engine)
    program = tmp_path / "program.yml"
    program.write_text("tiers:\n  - key: registered\nhealth:\n  drop_alert: 3\n", encoding="utf-8")
    from bot.kpi.program import load_program

    params = KpiParams.build(as_of=AS_OF, program=load_program(program))
    with engine.connect() as conn:
        found = [c for c in conditions(conn, params, "UCS1", 21) if c.kind == "health_drop"]
    (drop,) = found
    assert drop.partner_key == "acme" and drop.detail["points"] <= -3
    assert drop.detail["reasons"][0]["component"] == "recency"
    assert drop.detail["reasons"][0]["detail"] == {"idle_days": 14}
