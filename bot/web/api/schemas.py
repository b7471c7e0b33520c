"""What the OpenAPI document shows: request items, per-item results, errors.

The request schemas are documentation only. Items are validated by the importer, which
accepts a little more than they say (numbers where text is expected, as in JSON Lines
files) and explains every refusal per item, so a client generated from this document and a
person reading docs/api.md see the same contract.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from bot.core import events
from bot.core.events import EVENT_TYPES
from bot.web.api.bodies import MAX_ITEMS

TEXT: dict[str, Any] = {"type": "string"}
OPTIONAL_TEXT: dict[str, Any] = {"type": ["string", "null"]}

EVENT_ITEM: dict[str, Any] = {
    "title": "Event",
    "type": "object",
    "description": "kpi-spec.md, Data: object_key is required for every type but user.login "
    "(the asset key for content.downloaded).",
    "required": ["event_id", "occurred_at", "type", "partner_key", "user_key"],
    "properties": {
        "event_id": {**TEXT, "description": "Globally unique; the idempotency key."},
        "occurred_at": {**TEXT, "format": "date-time", "description": "ISO-8601 with offset."},
        "type": {"type": "string", "enum": list(EVENT_TYPES)},
        "partner_key": TEXT,
        "user_key": TEXT,
        "object_key": OPTIONAL_TEXT,
        "amount": {"type": ["number", "string", "null"]},
    },
}
PARTNER_ITEM: dict[str, Any] = {
    "title": "Partner",
    "type": "object",
    "description": "A key absent from the object leaves the stored value alone; null clears it.",
    "required": ["key", "name"],
    "properties": {
        "key": TEXT,
        "name": TEXT,
        "signed_at": {**OPTIONAL_TEXT, "description": "ISO-8601 with offset, or a plain date."},
        "tier": OPTIONAL_TEXT,
        "manager_slack_id": OPTIONAL_TEXT,
        "cs_slack_id": OPTIONAL_TEXT,
        "slack_channel_id": {**OPTIONAL_TEXT, "description": "C… or G…, the shared channel."},
    },
}
USER_ITEM: dict[str, Any] = {
    "title": "PartnerUser",
    "type": "object",
    "description": "A user stays with its partner: another partner_key is rejected.",
    "required": ["key", "partner_key"],
    "properties": {
        "key": TEXT,
        "partner_key": TEXT,
        "name": OPTIONAL_TEXT,
        "email": OPTIONAL_TEXT,
        "slack_user_id": OPTIONAL_TEXT,
        "registered_at": {**OPTIONAL_TEXT, "description": "ISO-8601 with offset, or a date."},
        "locale": OPTIONAL_TEXT,
    },
}
ASSET_ITEM: dict[str, Any] = {
    "title": "Asset",
    "type": "object",
    "description": "tags replace the stored tags; `onboarding` marks onboarding material.",
    "required": ["key"],
    "properties": {
        "key": TEXT,
        "title": OPTIONAL_TEXT,
        "url": OPTIONAL_TEXT,
        "tags": {
            "anyOf": [{"type": "array", "items": TEXT}, OPTIONAL_TEXT],
            "description": "A list, or one string separated by `;`.",
        },
    },
}

EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "events": [
        {
            "event_id": "crm-000123",
            "occurred_at": "2026-10-05T10:00:00+09:00",
            "type": events.DEAL,
            "partner_key": "acme",
            "user_key": "acme-alice",
            "object_key": "deal-42",
            "amount": 12000,
        }
    ],
    "partners": [
        {
            "key": "acme",
            "name": "Acme Corp",
            "signed_at": "2025-01-10",
            "tier": "gold",
            "manager_slack_id": "UMGR1",
            "cs_slack_id": None,
        }
    ],
    "users": [
        {
            "key": "acme-alice",
            "partner_key": "acme",
            "name": "Alice",
            "email": "alice@acme.example",
            "registered_at": "2025-01-15",
            "locale": "en",
        }
    ],
    "assets": [
        {
            "key": "guide",
            "title": "Onboarding guide",
            "url": "https://example.com/g",
            "tags": ["onboarding"],
        }
    ],
}


def request_body(item: dict[str, Any], example: list[dict[str, Any]]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its body itself: an array, or JSON Lines."""
    array = {"type": "array", "maxItems": MAX_ITEMS, "items": item}
    return {
        "requestBody": {
            "required": True,
            "description": f"A JSON array of at most {MAX_ITEMS:,} objects, or JSON Lines (one "
            "object per line) with Content-Type application/x-ndjson. At most 10 MB.",
            "content": {
                "application/json": {"schema": array, "example": example},
                "application/x-ndjson": {"schema": array},
            },
        }
    }


class ErrorBody(BaseModel):
    error: str = Field(description="What was wrong, for people.")


class EventResult(BaseModel):
    index: int = Field(description="Position of the item in the request, from 0.")
    event_id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = Field(description="Why it was rejected; null otherwise.")


class EventsResponse(BaseModel):
    results: list[EventResult]
    accepted: int
    duplicates: int
    rejected: int


class EntityResult(BaseModel):
    index: int = Field(description="Position of the item in the request, from 0.")
    key: str | None
    status: Literal["inserted", "updated", "rejected"]
    reason: str | None = Field(description="Why it was rejected; null otherwise.")


class UpsertResponse(BaseModel):
    results: list[EntityResult]
    inserted: int
    updated: int
    rejected: int


def errors(*codes: int | str) -> dict[int | str, dict[str, Any]]:
    """The `responses` entries for these error statuses, each `{"error": "…"}`.

    `"4XX"` also keeps FastAPI from documenting its 422 list, which this API never sends
    (bot/api/errors.py turns a bad parameter into a 400).
    """
    what: dict[int | str, str] = {
        "4XX": "Any other client error.",
        400: "Bad request: malformed body or invalid parameter.",
        401: "Missing or wrong bearer token.",
        404: "Unknown partner, manager or tier, or no partners stored yet.",
        413: f"More than {MAX_ITEMS:,} items or 10 MB.",
        415: "Unsupported Content-Type or Content-Encoding.",
        503: "The API is disabled (PRM_API_TOKEN unset) or the database is unavailable.",
    }
    return {code: {"model": ErrorBody, "description": what[code]} for code in codes}
