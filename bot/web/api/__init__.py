"""The integration API (docs/api.md): events in, entities upserted, KPIs out, over HTTP.

It lives in the same ASGI app as the Slack endpoint (`bot.web.asgi.create_web_app` includes
`build_router`). Every route under `/api/v1` needs `Authorization: Bearer $PRM_API_TOKEN`,
except the OpenAPI document at `/api/v1/openapi.json`; without the setting the API answers
503. Bodies go through the importer (`bot.store.importer.import_objects`) and KPIs through the
engine with the same parameters as `prm kpi`, so HTTP, files and the CLI never disagree.

Modules: `auth` (the bearer token), `bodies` (reading and limiting request bodies),
`errors` (every failure as `{"error": "…"}`), `kpi` (query -> `prm kpi`'s JSON), `schemas`
(what the OpenAPI document shows), `routes` (the router).
"""

from bot.web.api.bodies import MAX_BODY_BYTES, MAX_ITEMS
from bot.web.api.routes import API_PREFIX, OPENAPI_PATH, build_router

__all__ = ["API_PREFIX", "MAX_BODY_BYTES", "MAX_ITEMS", "OPENAPI_PATH", "build_router"]
