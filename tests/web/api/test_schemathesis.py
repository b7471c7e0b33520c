"""Schemathesis against the API's OpenAPI document: no input gives a 5xx.

Every operation gets its documented examples and a bounded number of generated cases (30
per operation, deadline off), with the bearer token, over real HTTP, on the seeded world
(so the examples, which name acme and acme-alice, reach the accepting paths). Besides "not
a server error", every answer must use a documented status code and content type and match
its documented schema.

The document is the one `create_web_app` serves at /api/v1/openapi.json (the first test
checks that byte for byte), loaded when this module is imported: schemathesis 4's lazy
`from_fixture` loader relies on a private attribute pytest 9.2 no longer has.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.core.settings import Settings
from bot.store.engine import get_engine
from bot.web.asgi import create_web_app
from tests.web.api.conftest import AUTH, Api

DOCUMENT = create_web_app(
    object(),  # type: ignore[arg-type]
    get_engine("sqlite://"),  # never connected to: the document needs no database
    Settings(_env_file=None),
).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schemathesis.serializer("application/x-ndjson")
def _json_lines(_ctx: Any, value: Any) -> bytes:
    """The documented JSON Lines body: one JSON value per line (a non-array is one line)."""
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item) + "\n" for item in items).encode()


def test_the_fuzzed_document_is_the_served_one(empty_api: Api) -> None:
    served = empty_api.request("GET", "/api/v1/openapi.json", auth=False)
    assert served.status_code == 200
    assert served.json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case: schemathesis.Case, api: Api) -> None:
    response = case.call(base_url=api.url, headers=AUTH, timeout=30)
    case.validate_response(response, checks=CHECKS, headers=AUTH)
