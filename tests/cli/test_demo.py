"""The demo generator and `prm demo`: deterministic, spec-shaped, importable, article-true."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from bot.core.timeutil import parse_instant
from bot.demo import ARTICLE_PARTNER_KEY, REP_A_KEY, REP_B_KEY, generate
from bot.demo.generator import end_of_minute_before
from bot.store.engine import get_engine
from bot.store.importer import import_path
from bot.store.tables import Event, Partner, PartnerUser

END = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")

# Written out from kpi-spec.md ("Exchange formats"), not imported from the generator.
SPEC_HEADERS = {
    "partners": "key,name,signed_at,tier,manager_slack_id,cs_slack_id",
    "users": "key,partner_key,name,email,slack_user_id,registered_at,locale",
    "assets": "key,title,url,tags",
    "events": "event_id,occurred_at,type,partner_key,user_key,object_key,amount",
}
# Columns the demo writes beyond the spec, at the end of the header (docs/import.md).
EXTENSIONS = {"partners": ",slack_channel_id"}
SLACK_CHANNEL = re.compile(r"[CG][A-Z0-9]{2,31}")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "small"
    generate(out, partners=12, end=END, seed=11)
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_same_seed_and_end_give_identical_files(tmp_path: Path, small: Path) -> None:
    generate(tmp_path / "again", partners=12, end=END, seed=11)
    generate(tmp_path / "other", partners=12, end=END, seed=12)
    for kind in SPEC_HEADERS:
        first = (small / f"{kind}.csv").read_bytes()
        assert (tmp_path / "again" / f"{kind}.csv").read_bytes() == first
    assert (tmp_path / "other" / "events.csv").read_bytes() != (small / "events.csv").read_bytes()


def test_headers_are_the_spec_headers(small: Path) -> None:
    for kind, header in SPEC_HEADERS.items():
        with (small / f"{kind}.csv").open(encoding="utf-8") as fh:
            assert fh.readline().rstrip("\n") == header + EXTENSIONS.get(kind, "")


def test_article_reps_a_and_b_have_exact_counts_in_the_last_30_days(small: Path) -> None:
    events = _rows(small / "events.csv")
    counts: Counter[tuple[str, str]] = Counter()
    for row in events:
        if row["user_key"] in (REP_A_KEY, REP_B_KEY) and row["type"] in (
            "lead.registered",
            "deal.registered",
        ):
            at = parse_instant(row["occurred_at"], UTC_ZONE, allow_date=False)
            assert END - timedelta(days=30) <= at < END
            assert row["partner_key"] == ARTICLE_PARTNER_KEY
            counts[row["user_key"], row["type"]] += 1
    assert counts == {
        (REP_A_KEY, "lead.registered"): 18,
        (REP_A_KEY, "deal.registered"): 8,
        (REP_B_KEY, "lead.registered"): 22,
        (REP_B_KEY, "deal.registered"): 3,
    }


def test_sizes_ids_and_times_are_sane(tmp_path: Path) -> None:
    summary = generate(tmp_path, partners=40, end=END, seed=5)
    events = _rows(tmp_path / "events.csv")
    users = _rows(tmp_path / "users.csv")
    assert summary.counts == {
        "partners": 40,
        "users": len(users),
        "assets": 20,
        "events": len(events),
    }
    assert 150 * 40 <= len(events) <= 1500 * 40  # ≈ 500 per partner on average
    assert 4 * 40 <= len(users) <= 25 * 40  # ≈ 10 reps per partner
    assert len({e["event_id"] for e in events}) == len(events)
    times = [parse_instant(e["occurred_at"], UTC_ZONE, allow_date=False) for e in events]
    assert max(times) == END  # one edge event exactly at `end`, none after it
    assert sum(t == END for t in times) == 1
    assert {e["occurred_at"][-6:] for e in events} >= {"+09:00", "+00:00"}
    assert set(Counter(e["type"] for e in events)) == {
        "user.login",
        "content.downloaded",
        "training.completed",
        "lead.registered",
        "deal.registered",
        "deal.won",
    }
    partners = _rows(tmp_path / "partners.csv")
    assert all(p["signed_at"] for p in partners)
    assert {p["tier"] for p in partners} <= {"platinum", "gold", "silver", "registered"}


def test_every_fifth_partner_has_a_shared_channel_with_unlinked_reps(small: Path) -> None:
    partners = _rows(small / "partners.csv")
    users = _rows(small / "users.csv")
    channels = {p["key"]: p["slack_channel_id"] for p in partners if p["slack_channel_id"]}
    assert channels == {  # indexes 0, 5, 10 of 12; made up, and shaped like Slack's
        "p00000": "C0PARTNER000",
        "p00005": "C0PARTNER005",
        "p00010": "C0PARTNER010",
    }
    assert all(SLACK_CHANNEL.fullmatch(c) for c in channels.values())
    for key in channels:
        reps = [u for u in users if u["partner_key"] == key]
        # every third rep of a partner with a channel has no Slack account: someone to nudge
        assert [u for u in reps[1::3] if u["slack_user_id"]] == []
        assert any(u["slack_user_id"] for u in reps)  # and the others mostly have one
    # some reps elsewhere never linked Slack either (about one in twelve)
    assert any(not u["slack_user_id"] for u in users if u["partner_key"] not in channels)
    slack_ids = [u["slack_user_id"] for u in users if u["slack_user_id"]]
    assert len(set(slack_ids)) == len(slack_ids)


def test_the_article_partner_and_its_reps_are_unchanged(small: Path) -> None:
    [article] = [p for p in _rows(small / "partners.csv") if p["key"] == ARTICLE_PARTNER_KEY]
    assert article["slack_channel_id"] == ""
    assert (article["tier"], article["name"]) == ("gold", "株式会社アーティクル (article example)")
    reps = {u["key"]: u for u in _rows(small / "users.csv") if u["key"] in (REP_A_KEY, REP_B_KEY)}
    assert reps[REP_A_KEY]["slack_user_id"] == "U1000001000"
    assert reps[REP_B_KEY]["slack_user_id"] == "U1000001001"  # README: `prm slack ask` as rep B


def test_generated_files_import_without_rejections(engine: Engine, small: Path) -> None:
    reports = {
        kind: import_path(engine, kind, small / f"{kind}.csv", UTC_ZONE) for kind in SPEC_HEADERS
    }
    for kind, report in reports.items():
        assert report.rejected == 0, (kind, report.rejections[:3])
        assert report.inserted == report.read
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Event)).scalar_one() == len(
            _rows(small / "events.csv")
        )
        stored = dict(conn.execute(select(Partner.key, Partner.slack_channel_id)).all())
        unlinked = conn.execute(
            select(func.count())
            .select_from(PartnerUser)
            .join(Partner, Partner.id == PartnerUser.partner_id)
            .where(Partner.slack_channel_id.is_not(None), PartnerUser.slack_user_id.is_(None))
        ).scalar_one()
    assert {k: v for k, v in stored.items() if v} == {
        "p00000": "C0PARTNER000",
        "p00005": "C0PARTNER005",
        "p00010": "C0PARTNER010",
    }
    assert unlinked >= 3


def test_jsonl_files_import_without_rejections(engine: Engine, tmp_path: Path) -> None:
    summary = generate(tmp_path, partners=6, end=END, seed=3, fmt="jsonl")
    first = json.loads((tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert list(first) == SPEC_HEADERS["events"].split(",")
    partners = (tmp_path / "partners.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["slack_channel_id"] for line in partners] == [
        "C0PARTNER000",
        None,
        None,
        None,
        None,
        "C0PARTNER005",
    ]
    for kind in SPEC_HEADERS:
        report = import_path(engine, kind, summary.files[kind], UTC_ZONE)
        assert report.rejected == 0, (kind, report.rejections[:3])


def test_prm_demo_generate_writes_the_four_files(cli, tmp_path: Path) -> None:
    out = tmp_path / "files"
    result = cli(
        "demo", "generate", "--partners", "5", "--seed", "9", "--out", str(out),
        "--end", "2026-11-01T00:00:00+09:00",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for kind in SPEC_HEADERS:
        assert (out / f"{kind}.csv").is_file()
        assert f"{kind}.csv: " in result.stdout
    assert "5 partners" in result.stdout


def test_prm_demo_builds_its_own_database_and_shows_the_report(cli, tmp_path: Path) -> None:
    result = cli("demo", "--partners", "6", "--db", "demo.db")
    assert result.exit_code == 0, result.output
    assert re.search(r"PRM_DATABASE_URL=sqlite:///demo\.db \S*prm kpi reps", result.stdout)
    assert REP_A_KEY in result.stdout  # the article's rep A tops a six-partner program
    demo = get_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    with demo.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Partner)).scalar_one() == 6
    # The configured database is untouched.
    with get_engine(cli.db_url).connect() as conn:
        assert conn.execute(select(func.count()).select_from(Partner)).scalar_one() == 0
    demo.dispose()  # a pooled connection would keep reading the deleted file
    again = cli("demo", "--partners", "3", "--db", "demo.db")  # rebuilds from scratch
    assert again.exit_code == 0, again.output
    with demo.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Partner)).scalar_one() == 3


def test_prm_demo_refuses_to_delete_a_file_that_is_not_a_demo(cli, tmp_path: Path) -> None:
    precious = tmp_path / "precious.db"
    precious.write_text("not a demo")
    result = cli("demo", "--db", str(precious))
    assert result.exit_code == 2
    assert precious.read_text() == "not a demo"


def test_demo_end_is_rounded_down_to_the_minute() -> None:
    now = datetime(2026, 11, 1, 9, 30, 59, 999, tzinfo=UTC)
    assert end_of_minute_before(now) == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
