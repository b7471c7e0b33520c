"""Request bodies of the write routes: a JSON array of objects, or JSON Lines; bounded.

Limits (413): more than `MAX_BODY_BYTES` bytes or more than `MAX_ITEMS` items. The size is
checked twice: the declared Content-Length before a byte is read, then the bytes actually
received while streaming (a chunked body declares none), so a client can never make the
server hold more than the limit in memory.

The body is refused whole (400, nothing stored) when it cannot be read as items at all:
not UTF-8, malformed JSON, not an array, an item or line that is not an object. Whatever is
wrong *inside* an object (a missing field, an unknown partner) is that item's rejection,
decided by the importer, and the other items are stored.

Which format: by Content-Type — `application/json` (or any `+json`) is one JSON document;
`application/x-ndjson`, `application/jsonl` and friends are JSON Lines. With no
Content-Type, `text/plain` or `application/octet-stream` the first character decides: `[` is
an array, `{` JSON Lines. Anything else is 415.
"""

from __future__ import annotations

import orjson
from fastapi import Request

from bot.store.importer.readers import json_kind
from bot.web.api.errors import ApiError

MAX_BODY_BYTES = 10_000_000  # "10 MB": ten million bytes
MAX_ITEMS = 10_000

BOM = b"\xef\xbb\xbf"
JSON_TYPES = frozenset({"application/json"})
JSONL_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
    }
)
SNIFFED_TYPES = frozenset({"", "text/plain", "application/octet-stream"})
_WHITESPACE = b" \t\r\n"

TOO_LARGE = f"the body is larger than {MAX_BODY_BYTES:,} bytes; send fewer items per request"
TOO_MANY = f"more than {MAX_ITEMS:,} items; send at most {MAX_ITEMS:,} per request"


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, or ApiError 413 as soon as it is known to exceed `limit` bytes."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ApiError(415, f"Content-Encoding {encoding!r} is not supported; send it unencoded")
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise ApiError(413, TOO_LARGE)
    received = bytearray()
    async for chunk in request.stream():
        if len(received) + len(chunk) > limit:
            raise ApiError(413, TOO_LARGE)
        received += chunk
    return bytes(received)


def body_format(content_type: str | None, body: bytes) -> str:
    """`"json"` or `"jsonl"`, from the Content-Type or, when it says nothing, the body."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json")):
        return "json"
    if media in JSONL_TYPES:
        return "jsonl"
    if media not in SNIFFED_TYPES:
        raise ApiError(
            415,
            f"Content-Type {media!r} is not supported: send application/json (an array) "
            "or application/x-ndjson (JSON Lines)",
        )
    start = body.lstrip(_WHITESPACE)[:1]
    if start == b"[":
        return "json"
    if start == b"{":
        return "jsonl"
    raise ApiError(400, "expected a JSON array of objects or JSON Lines (one object per line)")


def parse_items(body: bytes, content_type: str | None, limit: int = MAX_ITEMS) -> list[dict]:
    """The body's objects, in order; ApiError 400/413/415 when the body is unusable."""
    if body.startswith(BOM):
        body = body[len(BOM) :]
    fmt = body_format(content_type, body)
    items = _json_array(body, limit) if fmt == "json" else _json_lines(body, limit)
    return items


def _json_array(body: bytes, limit: int) -> list[dict]:
    if not body.strip(_WHITESPACE):
        raise ApiError(400, "empty body: expected a JSON array of objects")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None
    if not isinstance(value, list):
        raise ApiError(
            400,
            f"expected a JSON array of objects, got {json_kind(value)} "
            "(for one object per line use Content-Type application/x-ndjson)",
        )
    if len(value) > limit:
        raise ApiError(413, TOO_MANY)
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise ApiError(400, f"item {index} is not an object but {json_kind(item)}")
    return value


def _json_lines(body: bytes, limit: int) -> list[dict]:
    """One object per non-blank line; lines are numbered from 1 in messages, blanks count."""
    lines = body.split(b"\n")
    if sum(1 for line in lines if line.strip(_WHITESPACE)) > limit:
        raise ApiError(413, TOO_MANY)
    items: list[dict] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip(_WHITESPACE):
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, f"line {number}: malformed JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ApiError(400, f"line {number}: expected a JSON object, got {json_kind(value)}")
        items.append(value)
    return items
