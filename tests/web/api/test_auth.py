"""Authentication and the shape of the app: bearer token, 503 when off, the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bot.store.engine import get_engine
from tests.web.api.conftest import ROUTES, TOKEN, Api, api_settings, serve_api

ITEM = {"key": "acme", "name": "Acme"}


def _call(api: Api, method: str, path: str, headers: dict | None, auth: bool = False):
    body = {} if method == "GET" else {"json": [ITEM]}
    return api.request(method, path, auth=auth, headers=headers, **body)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(None, id="missing"),
        pytest.param({"Authorization": "Bearer wrong-token"}, id="wrong"),
        pytest.param({"Authorization": f"Bearer {TOKEN}x"}, id="longer"),
        pytest.param({"Authorization": f"Bearer {TOKEN[:-1]}"}, id="prefix"),
        pytest.param({"Authorization": f"Basic {TOKEN}"}, id="not-bearer"),
        pytest.param({"Authorization": "Bearer"}, id="no-credentials"),
        pytest.param({"Authorization": "Bearer tökén".encode()}, id="non-ascii"),
    ],
)
def test_missing_or_wrong_token_is_401_and_stores_nothing(empty_api, headers):
    for method, path in ROUTES:
        response = _call(empty_api, method, path, headers)
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"] == "application/json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        message = response.json()["error"]
        assert "bearer token" in message
        assert TOKEN not in message
    assert empty_api.kpi().status_code == 404  # still no partners: nothing was stored


@pytest.fixture
def disabled_api(db_url: str, engine: Engine) -> Iterator[Api]:
    with serve_api(engine, api_settings(db_url, api_token="  ")) as api:
        yield api


@pytest.mark.parametrize("auth", [False, True], ids=["no-token", "with-token"])
def test_without_prm_api_token_the_api_is_disabled_503(disabled_api, auth):
    for method, path in ROUTES:
        response = _call(disabled_api, method, path, None, auth=auth)
        assert response.status_code == 503, (method, path)
        assert response.json() == {"error": "the API is disabled: set PRM_API_TOKEN"}


def test_the_right_token_passes(api):
    response = api.kpi(kpi="deals")
    assert response.status_code == 200
    assert response.json()["registered"] == 2


def test_openapi_document_is_public_and_only_the_api(empty_api, disabled_api):
    for app in (empty_api, disabled_api):
        response = app.request("GET", "/api/v1/openapi.json", auth=False)
        assert response.status_code == 200
        doc = response.json()
        assert doc["openapi"].startswith("3.")
        assert sorted(doc["paths"]) == [
            "/api/v1/assets",
            "/api/v1/events",
            "/api/v1/kpi",
            "/api/v1/partners",
            "/api/v1/users",
        ]
        assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
        for operations in doc["paths"].values():
            for operation in operations.values():
                assert operation["security"] == [{"bearerAuth": []}]
                assert "422" not in operation["responses"]  # bad parameters are 400s
    # The Slack app's own routes are still there, outside the schema.
    assert empty_api.request("GET", "/healthz", auth=False).json() == {
        "status": "ok",
        "database": "ok",
    }
    assert empty_api.request("GET", "/docs", auth=False).status_code == 404


def test_an_unreachable_database_is_503_not_a_crash():
    dead = get_engine("postgresql://postgres@127.0.0.1:1/nothing")
    with serve_api(dead, api_settings("sqlite:///unused.db")) as app:
        for method, path in ROUTES:
            response = _call(app, method, path, None, auth=True)
            assert response.status_code == 503, (method, path, response.text)
            assert response.json() == {"error": "the database is unavailable; try again later"}
