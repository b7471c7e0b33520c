"""The `/api/v1` router: POST events, PUT partners/users/assets, GET kpi (docs/api.md).

Handlers are thin: read and bound the body (`bodies`), hand the items to the importer or
the query to the KPI engine on a worker thread (both block on the database), and shape the
answer. Authentication is a router dependency, so no route can forget it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from bot.core.settings import Settings
from bot.store.engine import get_read_engine
from bot.store.importer import ItemOutcome, import_objects
from bot.web.api.auth import token_guard
from bot.web.api.bodies import parse_items, read_body
from bot.web.api.errors import ApiRoute, json_response
from bot.web.api.kpi import KPI_CHOICES, KpiQuery, kpi_payload
from bot.web.api.schemas import (
    ASSET_ITEM,
    EVENT_ITEM,
    EXAMPLES,
    PARTNER_ITEM,
    USER_ITEM,
    EventsResponse,
    UpsertResponse,
    errors,
    request_body,
)

API_PREFIX = "/api/v1"
OPENAPI_PATH = f"{API_PREFIX}/openapi.json"

# mypy only understands a functional Enum whose members are written out literally; these
# come from KPI_CHOICES so the API cannot drift from the CLI's list.
KpiName = StrEnum("KpiName", {name: name for name in KPI_CHOICES})  # type: ignore[misc]


def _text_of(value: Any) -> str | None:
    """An item's key as the importer reads it: stripped text, or a number's text."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def events_answer(items: Sequence[dict], outcomes: Sequence[ItemOutcome]) -> dict[str, Any]:
    """`{"results": [...], "accepted": n, "duplicates": n, "rejected": n}`."""
    status = {"inserted": "accepted", "duplicate": "duplicate", "rejected": "rejected"}
    results = [
        {
            "index": o.index,
            "event_id": _text_of(items[o.index].get("event_id")),
            "status": status[o.status],
            "reason": o.reason,
        }
        for o in outcomes
    ]
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    for o in outcomes:
        counts[status[o.status]] += 1
    return {
        "results": results,
        "accepted": counts["accepted"],
        "duplicates": counts["duplicate"],
        "rejected": counts["rejected"],
    }


def upsert_answer(items: Sequence[dict], outcomes: Sequence[ItemOutcome]) -> dict[str, Any]:
    """`{"results": [...], "inserted": n, "updated": n, "rejected": n}`."""
    results = [
        {
            "index": o.index,
            "key": _text_of(items[o.index].get("key")),
            "status": o.status,
            "reason": o.reason,
        }
        for o in outcomes
    ]
    counts = {"inserted": 0, "updated": 0, "rejected": 0}
    for o in outcomes:
        counts[o.status] += 1
    return {"results": results, **counts}


def build_router(settings: Settings, engine: Engine, clock: Callable[[], datetime]) -> APIRouter:
    reader = get_read_engine(settings.database_read_url, engine)  # KPI reads: the replica
    """The API's routes, bound to this app's settings, database and clock."""
    router = APIRouter(
        prefix=API_PREFIX,
        route_class=ApiRoute,
        dependencies=[Depends(token_guard(settings))],
        responses=errors(400, 401, 503),
    )
    tz = settings.tz
    batch_size = settings.import_batch_size

    async def store(request: Request, kind: str) -> tuple[list[dict], list[ItemOutcome]]:
        body = await read_body(request)
        items = await run_in_threadpool(parse_items, body, request.headers.get("content-type"))
        outcomes = await run_in_threadpool(
            import_objects, engine, kind, items, tz, batch_size=batch_size
        )
        return items, outcomes

    @router.post(
        "/events",
        summary="Record events (idempotent by event_id)",
        response_model=None,
        responses={200: {"model": EventsResponse}, **errors(413, 415)},
        openapi_extra=request_body(EVENT_ITEM, EXAMPLES["events"]),
    )
    async def post_events(request: Request) -> Response:
        """Each event is accepted, a duplicate (its event_id is already stored, or came
        earlier in the request), or rejected with the importer's reason."""
        items, outcomes = await store(request, "events")
        return json_response(events_answer(items, outcomes))

    def upsert_route(kind: str, item: dict[str, Any], summary: str) -> None:
        async def put_entities(request: Request) -> Response:
            items, outcomes = await store(request, kind)
            return json_response(upsert_answer(items, outcomes))

        put_entities.__doc__ = (
            f"Insert or update {kind} by key. Keys an object leaves out keep their stored "
            "values; null clears them. Each item is inserted, updated or rejected."
        )
        router.add_api_route(
            f"/{kind}",
            put_entities,
            methods=["PUT"],
            name=f"put_{kind}",
            summary=summary,
            response_model=None,
            responses={200: {"model": UpsertResponse}, **errors(413, 415)},
            openapi_extra=request_body(item, EXAMPLES[kind]),
        )

    upsert_route("partners", PARTNER_ITEM, "Upsert partners")
    upsert_route("users", USER_ITEM, "Upsert partner users")
    upsert_route("assets", ASSET_ITEM, "Upsert assets")

    @router.get(
        "/kpi",
        summary="The KPI report, as `prm kpi [KPI] --format json`",
        response_model=None,
        responses={
            200: {
                "description": "The whole report (kpi=all) or the one KPI's object.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **errors(404, "4XX"),
        },
    )
    async def get_kpi(
        kpi: KpiName = Query(
            KpiName("all"), description="all, or one KPI: " + ", ".join(KPI_CHOICES[1:]) + "."
        ),
        as_of: str | None = Query(None, description="Date or ISO-8601 time. Default: now."),
        period_from: str | None = Query(None, alias="from", description="Period start."),
        period_to: str | None = Query(None, alias="to", description="Period end (exclusive)."),
        last: str | None = Query(None, description="Period length back from `to`: 30d, 12w, 3m."),
        partner: str | None = Query(None, description="Only this partner (key)."),
        manager: str | None = Query(None, description="Only this manager's partners (Slack id)."),
        tier: str | None = Query(None, description="Only partners of this tier."),
        signed_from: str | None = Query(None, description="Partners signed on or after."),
        signed_to: str | None = Query(None, description="Partners signed before."),
    ) -> Response:
        """Same parameters, same JSON as the CLI; unknown names are 404 with suggestions."""
        query = KpiQuery(
            kpi=kpi.value,
            as_of=as_of,
            period_from=period_from,
            period_to=period_to,
            last=last,
            partner=partner,
            manager=manager,
            tier=tier,
            signed_from=signed_from,
            signed_to=signed_to,
        )
        payload = await run_in_threadpool(kpi_payload, reader, query, settings, clock)
        return json_response(payload)

    return router
