"""`pipeline` wherever people and machines read it: `prm kpi`, the API's choices, `/prm kpi`.

The fixture's figures, by hand: in [2026-10-02, 2026-11-01) acme registers D-1 (1,200,000)
and D-2 (no amount) and wins D-1 (1,250,000); globex registers G-1 (12,300) and wins
nothing. registered 3 deals, 1,212,300; won 1 deal, 1,250,000; win rate 1 of 3 deal ids.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import pytest

from bot.kpi.registry import KPI_NAMES
from tests.builders import Store

MANAGER = "UMGRPIPE"
PERIOD = ["--as-of", "2026-11-01", "--from", "2026-10-02", "--to", "2026-11-01"]
ENV = {"PRM_AS_OF": "2026-11-01T00:00:00Z"}


def seed(engine) -> None:
    s = Store(engine)
    s.partner("acme", name="Acme Corp", manager=MANAGER).user("acme-1", "acme", name="Alice")
    s.partner("globex", name="Globex Inc", manager=MANAGER).user("globex-1", "globex")
    s.partner("initech", name="Initech", manager=MANAGER).user("initech-1", "initech")
    s.event("deal.registered", "2026-10-05T00:00:00Z", "acme", "acme-1", "D-1",
            amount=Decimal("1200000"))  # fmt: skip
    s.event("deal.registered", "2026-10-06T00:00:00Z", "acme", "acme-1", "D-2")
    s.event("deal.won", "2026-10-20T00:00:00Z", "acme", "acme-1", "D-1",
            amount=Decimal("1250000"))  # fmt: skip
    s.event("deal.registered", "2026-10-07T00:00:00Z", "globex", "globex-1", "G-1",
            amount=Decimal("12300"))  # fmt: skip


@pytest.fixture
def program(engine, seeded) -> Store:
    """The program above, seeded once per session on SQLite (tests/conftest.py SeedCache)."""
    seeded(seed)
    return Store(engine)


def test_json_has_the_spec_shape(cli, program):
    out = cli("kpi", "pipeline", *PERIOD, "--format", "json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == {
        "registered_deals": 3,
        "registered_amount": 1212300,
        "won_deals": 1,
        "won_amount": 1250000,
        "win_rate": pytest.approx(1 / 3),
        "missing_amount": 1,
        "by_partner": [
            {"key": "acme", "registered_amount": 1200000, "won_amount": 1250000, "won_deals": 1},
            {"key": "globex", "registered_amount": 12300, "won_amount": 0, "won_deals": 0},
            {"key": "initech", "registered_amount": 0, "won_amount": 0, "won_deals": 0},
        ],
    }
    whole = cli("kpi", "all", *PERIOD, "--format", "json")
    report = json.loads(whole.stdout)
    assert set(KPI_NAMES) <= set(report) and report["pipeline"]["registered_deals"] == 3


def test_table_shows_money_and_names(cli, program):
    out = cli("kpi", "pipeline", *PERIOD, env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    text = out.stdout
    assert "Sales impact" in text
    assert "$1.2M" in text and "$12,300" in text and "33.3 %" in text
    assert "Acme Corp" in text and "Globex Inc" in text
    assert "Initech" not in text  # no deal value: no row of zeros
    assert "1 deal events in the period have no amount" in text
    assert not re.search(r"\bacme\b", text)  # names, not keys
    keyed = cli("kpi", "pipeline", *PERIOD, "--keys", env={"COLUMNS": "200"})
    assert re.search(r"Acme Corp\s+acme", keyed.stdout)


def test_table_in_another_currency(cli, program):
    out = cli("kpi", "pipeline", *PERIOD, env={"COLUMNS": "200", "PRM_CURRENCY": "jpy"})
    assert out.exit_code == 0, out.output
    assert "¥1.2M" in out.stdout and "¥12,300" in out.stdout


def test_a_bad_currency_is_refused(cli, program):
    out = cli("kpi", "pipeline", *PERIOD, env={"PRM_CURRENCY": "dollars"})
    assert out.exit_code != 0
    assert "ISO 4217" in out.output


def test_csv_and_table_of_all(cli, program):
    out = cli("kpi", "all", *PERIOD, "--format", "csv")
    assert out.exit_code == 0, out.output
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert ["pipeline", "", "registered_amount", "1212300"] in rows
    assert ["pipeline", "acme", "by_partner.won_amount", "1250000"] in rows
    table = cli("kpi", "all", *PERIOD, env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "6 · Sales impact" in table.stdout


def test_the_api_serves_it(db_url, engine, program):
    from datetime import UTC, datetime

    import httpx

    from bot.core.settings import Settings
    from bot.web.asgi import create_web_app
    from tests.slack.conftest import _serve, stop

    token = "t" * 24
    settings = Settings(_env_file=None, database_url=db_url, api_token=token)
    clock = lambda: datetime(2026, 11, 1, tzinfo=UTC)  # noqa: E731
    app = create_web_app(object(), engine, settings, clock=clock)  # type: ignore[arg-type]
    url, server, thread = _serve(app)
    try:
        got = httpx.get(
            f"{url}/api/v1/kpi",
            params={"kpi": "pipeline"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        spec = httpx.get(f"{url}/api/v1/openapi.json", timeout=30).json()
    finally:
        stop(server, thread)
    assert got.status_code == 200, got.text
    assert got.json()["registered_amount"] == 1212300
    assert got.json()["win_rate"] == pytest.approx(1 / 3)
    kpi_param = next(
        p for p in spec["paths"]["/api/v1/kpi"]["get"]["parameters"] if p["name"] == "kpi"
    )
    assert "pipeline" in json.dumps(kpi_param) + json.dumps(spec.get("components", {}))


def test_slack_answer_in_both_languages(cli, program):
    en = cli("slack", "ask", MANAGER, "kpi pipeline", "--locale", "en", env=ENV)
    assert en.exit_code == 0, en.output
    assert "3 deals registered worth $1.2M · 1 deal won worth $1.3M · win rate 33.3 %" in en.stdout
    assert "Acme Corp: $1.2M registered, $1.3M won (1 deal won)" in en.stdout
    assert "Globex Inc: $12,300 registered, $0 won (0 deals won)" in en.stdout
    assert "Initech" not in en.stdout and "`acme`" not in en.stdout
    ja = cli("slack", "ask", MANAGER, "kpi pipeline", "--locale", "ja", env=ENV)
    assert ja.exit_code == 0, ja.output
    assert "案件登録 3件($1,212,300) · 受注 1件($1,250,000) · 受注率 33.3%" in ja.stdout
    yen = cli("slack", "ask", MANAGER, "kpi pipeline", "--locale", "ja",
              env={**ENV, "PRM_CURRENCY": "JPY"})  # fmt: skip
    assert "Acme Corp: 登録 ¥1,200,000、受注 ¥1,250,000(受注 1件)" in yen.stdout


def test_partner_card_shows_its_pipeline(cli, program):
    out = cli("slack", "ask", MANAGER, "partner Acme Corp", "--locale", "en", env=ENV)
    assert out.exit_code == 0, out.output
    assert "2 deals registered worth $1.2M · 1 deal won worth $1.3M · win rate 50.0 %" in out.stdout
    assert "1 deal event in the period has no amount; it counts as 0." in out.stdout
