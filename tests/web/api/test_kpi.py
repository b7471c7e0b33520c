"""GET /api/v1/kpi: exactly `prm kpi [KPI] … --format json`, and right by hand.

The CLI runs in-process (the `cli` fixture) on the same database with the same flags and
the same as_of; the API's answer must be the same JSON value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.web.api.conftest import AS_OF_TEXT, Api, api_settings, seed, serve_api

FLAGS = {
    "from": "--from",
    "to": "--to",
    "last": "--last",
    "partner": "--partner",
    "manager": "--manager",
    "tier": "--tier",
    "signed_from": "--signed-from",
    "signed_to": "--signed-to",
}
CASES = [
    ("all", {}),
    ("all", {"partner": "acme"}),
    ("all", {"signed_from": "2025-02-01", "signed_to": "2026-11-01"}),
    ("funnel", {"manager": "UMGR1"}),
    ("deals", {"tier": "gold"}),
    ("reps", {"from": "2026-10-01", "to": "2026-10-20T12:00:00+09:00"}),
    ("content", {"last": "12w", "tier": "gold"}),
    ("retention", {"manager": "UMGR1", "tier": "gold"}),
    ("nudge_lift", {"manager": "UMGR1"}),
    ("tiers", {}),
    ("tiers", {"manager": "UMGR1"}),
    ("health", {"partner": "acme"}),
]


def cli_json(cli, kpi: str, params: dict[str, str], env: dict[str, str] | None = None):
    args = ["kpi", kpi, "--as-of", AS_OF_TEXT, "--format", "json"]
    for name, value in params.items():
        args += [FLAGS[name], value]
    result = cli(*args, env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(("kpi", "params"), CASES, ids=[f"{k}-{'-'.join(p)}" for k, p in CASES])
def test_equals_prm_kpi_format_json(api, cli, kpi, params):
    response = api.kpi(kpi=kpi, as_of=AS_OF_TEXT, **params)
    assert response.status_code == 200, response.text
    assert response.json() == cli_json(cli, kpi, params)


@pytest.fixture
def tokyo_api(db_url: str, engine: Engine) -> Iterator[Api]:
    seed(engine)
    with serve_api(engine, api_settings(db_url, timezone="Asia/Tokyo")) as api:
        yield api


def test_equals_prm_kpi_in_another_reporting_zone(tokyo_api, cli):
    """Plain dates are local midnight in PRM_TIMEZONE, for the CLI and the API alike."""
    params = {"from": "2026-10-06", "to": "2026-10-11"}
    response = tokyo_api.kpi(kpi="all", as_of=AS_OF_TEXT, **params)
    expected = cli_json(cli, "all", params, env={"PRM_TIMEZONE": "Asia/Tokyo"})
    assert response.json() == expected
    assert expected["as_of"] == "2026-11-01T09:00:00+09:00"
    assert expected["period"]["from"] == "2026-10-06T00:00:00+09:00"


def test_the_default_as_of_is_the_apps_clock(api):
    report = api.kpi().json()
    assert report["as_of"] == AS_OF_TEXT
    assert report["period"] == {"from": "2026-10-02T00:00:00+00:00", "to": AS_OF_TEXT}


def test_deals_and_funnel_worked_by_hand(api):
    # Cohort as of 2026-11-01: acme, globex, initech (all signed before). Period: 30 days
    # back, [2026-10-02, 2026-11-01). acme-alice registered 2 deals on 2026-10-06 and one on
    # 2026-09-10 (before the period: acme is activated, but not newly).
    deals = api.kpi(kpi="deals").json()
    assert deals["registered"] == 2
    assert deals["by_partner"] == [
        {"key": "acme", "registered": 2},
        {"key": "globex", "registered": 0},
        {"key": "initech", "registered": 0},
    ]
    assert deals["activated"] == 1
    assert deals["activation_rate"] == pytest.approx(1 / 3)
    assert deals["newly_activated"] == 0
    assert deals["not_activated"] == ["globex", "initech"]

    # UMGR1's partners: acme and globex. Both signed and registered; only globex logged in
    # (so acme is stuck at `registered`); globex never downloaded (stuck at `logged_in`).
    funnel = api.kpi(kpi="funnel", manager="UMGR1").json()
    steps = [
        (s["key"], s["reached"], s["step_rate"], s["cumulative_rate"], s["stuck"])
        for s in funnel["steps"]
    ]
    assert steps == [
        ("signed", 2, None, 1.0, 0),
        ("registered", 2, 1.0, 1.0, 1),
        ("logged_in", 1, 0.5, 0.5, 1),
        ("content_downloaded", 0, 0.0, 0.0, 0),
        ("lead_registered", 0, None, 0.0, 0),
        ("deal_registered", 0, None, 0.0, 0),
        ("deal_won", 0, None, 0.0, 0),
    ]
    assert funnel["bottleneck"] == "content_downloaded"


def test_an_empty_parameter_is_no_parameter(api):
    assert api.kpi(kpi="deals", partner="", tier="").json()["by_partner"][2]["key"] == "initech"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"partner": "acm"}, "unknown partner 'acm'; did you mean acme (Acme Corp)?"),
        (
            {"manager": "UMGR3"},
            "no partner has manager 'UMGR3'; known managers include UMGR2, UMGR1",
        ),
        ({"tier": "platinum"}, "no partner has tier 'platinum'; known tiers include gold, silver"),
    ],
)
def test_unknown_names_are_404_with_suggestions_like_the_cli(api, cli, params, message):
    response = api.kpi(**params)
    assert response.status_code == 404
    assert response.json() == {"error": message}
    name, value = next(iter(params.items()))
    result = cli("kpi", FLAGS[name], value, env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_an_empty_database_is_404_with_what_to_do(empty_api):
    response = empty_api.kpi()
    assert response.status_code == 404
    assert "holds no partners yet" in response.json()["error"]
    assert "PUT /api/v1/partners" in response.json()["error"]


BAD_PARAMETERS = [
    ({"kpi": "nope"}, "query parameter 'kpi'"),
    ({"as_of": "yesterday"}, "as_of: bad date 'yesterday'"),
    ({"from": "2026-13-01"}, "from: bad date"),
    ({"to": "2026-10-01T25:00"}, "to: bad date"),
    ({"last": "5y"}, "bad span '5y'"),
    ({"last": "0d"}, "bad span '0d'"),
    ({"last": "99999999999m"}, "reaches before the year 1"),
    ({"last": "30d", "from": "2026-10-01"}, "give either from or last, not both"),
    ({"from": "2026-11-01", "to": "2026-10-01"}, "the period must start before it ends"),
    ({"as_of": "0001-01-01"}, "as_of: out of range"),
    ({"as_of": "9999-12-31T23:59:59-12:00"}, "as_of: out of range"),
    ({"signed_to": "1800-01-01"}, "signed_to: out of range"),
    ({"last": "2000m"}, "from: out of range"),
    ({"partner": "ac\x00me"}, "partner: must not contain NUL characters"),
    ({"tier": "t" * 300}, "tier: too long (300 characters, at most 256)"),
]


def test_bad_parameters_are_400_with_a_message(api):
    for params, message in BAD_PARAMETERS:
        response = api.kpi(**params)
        assert response.status_code == 400, (params, response.text)
        assert message in response.json()["error"], params
