"""POST /api/v1/events: per-item results, idempotency, JSON Lines, 400/413/415.

The rejection reasons are the importer's own: the same items imported from a JSON Lines
file with `import_path` give the same reasons on the same positions.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from bot.store.importer import import_path
from bot.store.tables import Event
from bot.web.api import MAX_BODY_BYTES, MAX_ITEMS
from tests.web.api.conftest import AUTH, Api, api_settings, event_count, seed, serve_api

KNOWN_TYPES = (
    "user.login, content.downloaded, training.completed, lead.registered, deal.registered, "
    "deal.won, deal.approved, deal.rejected"
)


def ev(event_id: str, type_: str = "user.login", **fields: Any) -> dict[str, Any]:
    """An event of acme-alice at acme, 2026-10-12 09:00 Tokyo; `fields` override."""
    return {
        "event_id": event_id,
        "occurred_at": "2026-10-12T09:00:00+09:00",
        "type": type_,
        "partner_key": "acme",
        "user_key": "acme-alice",
        **fields,
    }


MIXED = [
    ev("api-1"),
    ev("api-2", "deal.registered", object_key="deal-9", amount=1200.5),
    ev("api-1"),  # the same event_id again in one request: the first wins
    ev("api-3", partner_key="nope"),
    ev("api-4", user_key="ghost"),
    ev("api-5", user_key="globex-gina"),  # a user of another partner
    ev("api-6", "deal.lost", object_key="d"),
    ev("api-7", occurred_at="2026-10-12T09:00:00"),
    ev("api-8", "lead.registered"),  # no object_key
    ev("api-9", "content.downloaded", object_key="no-such-asset"),
    ev("api-10", "deal.won", object_key="d", amount="ten"),
    {"occurred_at": "2026-10-12T09:00:00Z", "type": "user.login"},
    ev("api-11", partner_key={"key": "acme"}),
    ev(" api-12 ", "content.downloaded", object_key="guide", amount=None),
]
EXPECTED = [
    (0, "api-1", "accepted", None),
    (1, "api-2", "accepted", None),
    (2, "api-1", "duplicate", None),
    (3, "api-3", "rejected", "unknown partner 'nope'"),
    (4, "api-4", "rejected", "unknown user 'ghost'"),
    (5, "api-5", "rejected", "user 'globex-gina' belongs to partner 'globex', not 'acme'"),
    (6, "api-6", "rejected", f"unknown event type 'deal.lost' (expected one of {KNOWN_TYPES})"),
    (7, "api-7", "rejected", "occurred_at: time without offset: '2026-10-12T09:00:00'"),
    (8, "api-8", "rejected", "missing required field 'object_key'"),
    (9, "api-9", "rejected", "unknown asset 'no-such-asset'"),
    (10, "api-10", "rejected", "bad amount 'ten' (not a number)"),
    (11, None, "rejected", "missing required field 'event_id'"),
    (12, "api-11", "rejected", "field 'partner_key' must be a string, not an object"),
    (13, "api-12", "accepted", None),
]


def results(response: httpx.Response) -> list[tuple]:
    assert response.status_code == 200, response.text
    return [
        (r["index"], r["event_id"], r["status"], r["reason"]) for r in response.json()["results"]
    ]


def stored_ids(api: Api) -> set[str]:
    with api.engine.connect() as conn:
        return set(conn.execute(select(Event.event_id)).scalars())


def test_per_item_results_in_order_and_only_accepted_items_stored(api):
    before = event_count(api.engine)
    response = api.post_events(MIXED)
    assert results(response) == EXPECTED
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (3, 1, 10)
    assert event_count(api.engine) == before + 3
    with api.engine.connect() as conn:
        row = conn.execute(
            select(Event.occurred_at, Event.object_key, Event.amount).where(
                Event.event_id == "api-2"
            )
        ).one()
    assert row.occurred_at.isoformat() == "2026-10-12T00:00:00+00:00"  # 09:00 Tokyo
    assert (row.object_key, float(row.amount)) == ("deal-9", 1200.5)
    assert {"api-1", "api-2", "api-12"} <= stored_ids(api)
    assert not {f"api-{i}" for i in range(3, 12)} & stored_ids(api)


def test_rejection_reasons_are_the_importers(api, tmp_path: Path):
    rejected = [
        (i + 1, reason)
        for i, _, status, reason in results(api.post_events(MIXED))
        if status == "rejected"
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in MIXED))
    report = import_path(api.engine, "events", path, ZoneInfo("UTC"))
    assert report.rejections == rejected  # line N of the file is item N-1 of the request
    assert (report.inserted, report.duplicates) == (0, 4)  # the API stored them already


def test_a_resent_event_is_a_duplicate(api):
    first = results(api.post_events(MIXED))
    count = event_count(api.engine)
    again = results(api.post_events(MIXED))
    assert [r[2] for r in again] == [
        "duplicate" if status != "rejected" else "rejected" for _, _, status, _ in first
    ]
    assert [r[3] for r in again] == [r[3] for r in first]
    assert event_count(api.engine) == count
    # Another request with one new and one old event: only the new one is accepted.
    mixed = results(api.post_events([ev("api-1"), ev("api-100")]))
    assert [r[2] for r in mixed] == ["duplicate", "accepted"]


def test_nul_and_control_characters_are_rejected_on_every_database(api):
    """PostgreSQL cannot store NUL: the importer refuses it (and other control characters)
    itself, with the field and the position, the same on SQLite, before any write."""
    items = [
        ev("nul-1", "deal.won", object_key="d\x00x"),
        ev("nul-2"),
        ev("nul-\x003"),
        ev("esc-4", partner_key="acme\x1b"),
        ev("tab-5", user_key="acme-\talice"),
    ]
    nul = "a NUL character (\\x00) at character {}, which the database cannot store"
    assert results(api.post_events(items)) == [
        (0, "nul-1", "rejected", "field 'object_key' contains " + nul.format(2)),
        (1, "nul-2", "accepted", None),
        (2, "nul-\x003", "rejected", "field 'event_id' contains " + nul.format(5)),
        (3, "esc-4", "rejected", "field 'partner_key' contains a control character ('\\x1b') "
         "at character 5"),
        (4, "tab-5", "rejected", "field 'user_key' contains a tab at character 6"),
    ]  # fmt: skip
    stored = stored_ids(api)
    assert "nul-2" in stored
    assert not {"nul-1", "nul-\x003", "esc-4", "tab-5"} & stored


def test_an_event_id_repeated_in_one_request(api):
    """The same event_id twice in a request: the same values are a duplicate, other values
    are rejected naming the first item; the first one is stored."""
    items = [
        ev("rep-1", "deal.won", object_key="d-1", amount=100),
        ev("rep-1", "deal.won", object_key="d-1", amount="100.0000"),  # the same amount
        ev("rep-1", "deal.won", object_key="d-1", amount=200),
        ev("rep-2"),
    ]
    assert results(api.post_events(items)) == [
        (0, "rep-1", "accepted", None),
        (1, "rep-1", "duplicate", None),
        (2, "rep-1", "rejected",
         "event_id 'rep-1' already appears at index 0 of this request with different values "
         "(amount)"),
        (3, "rep-2", "accepted", None),
    ]  # fmt: skip
    # Sent again: stored already; the different one is still refused, now against the store.
    again = results(api.post_events(items[2:3]))
    assert again == [
        (0, "rep-1", "rejected", "event_id 'rep-1' is already stored with different values "
         "(amount)")
    ]  # fmt: skip
    with api.engine.connect() as conn:
        amount = conn.execute(select(Event.amount).where(Event.event_id == "rep-1")).scalar_one()
    assert float(amount) == 100


def test_hostile_items_are_rejected_one_by_one_never_a_500(api):
    """Times that overflow, future dates, misspelt types and keys, bad amounts: each item
    gets its reason, the good ones are stored (the API's clock is the real one: 2099 is the
    future whenever this runs)."""
    items = [
        ev("h-0"),
        ev("h-1", occurred_at="9999-12-31T23:00:00-14:00"),
        ev("h-2", occurred_at="0001-01-01T00:00:00+01:00"),
        ev("h-3", occurred_at="2099-01-01T00:00:00Z"),
        ev("h-4", "deal.registerd", object_key="d"),
        ev("h-5", "login"),
        {**ev("h-6", "deal.won", object_key="d"), "ammount": 5},
        ev("h-7", "deal.won", object_key="d", amount="1,000,000"),
        ev("h-8", "deal.won", object_key="d", amount=-5),
        ev("h-9", "deal.won", object_key="d", amount=1e-30),
        ev("h-10", "deal.won", object_key="d", amount="NaN"),
        ev("h-11", "deal.won", object_key="d", amount="0.12345"),
        ev("h-12", "deal.won", object_key="d", amount=1200.5),
    ]
    response = api.post_events(items)
    assert response.status_code == 200
    got = {event_id: (status, reason) for _, event_id, status, reason in results(response)}
    assert got["h-0"] == ("accepted", None)
    assert got["h-12"] == ("accepted", None)
    out_of_range = "(use a time in the years 1900 to 2999)"
    assert got["h-1"][1] == f"occurred_at: out of range: '9999-12-31T23:00:00-14:00' {out_of_range}"
    assert got["h-2"][1] == f"occurred_at: out of range: '0001-01-01T00:00:00+01:00' {out_of_range}"
    assert got["h-3"][1].startswith(
        "occurred_at: '2099-01-01T00:00:00Z' is more than a day in the future (now: "
    )
    assert got["h-4"][1] == "unknown event type 'deal.registerd': did you mean 'deal.registered'?"
    assert got["h-5"][1] == "unknown event type 'login': did you mean 'user.login'?"
    assert got["h-6"][1] == "unknown field 'ammount': did you mean 'amount'?"
    assert "write it as 1000000" in got["h-7"][1]
    assert got["h-8"][1] == "bad amount '-5' (negative: an amount is zero or more)"
    assert got["h-9"][1].startswith("bad amount '1e-30' (more than 4 decimal places")
    assert got["h-10"][1] == "bad amount 'NaN' (not a number)"
    assert got["h-11"][1].startswith("bad amount '0.12345' (more than 4 decimal places")
    assert {k for k, (status, _) in got.items() if status == "accepted"} == {"h-0", "h-12"}
    assert not {f"h-{i}" for i in range(1, 12)} & stored_ids(api)


JSONL = "".join(json.dumps(item) + "\n" for item in MIXED)
SPELLINGS = [
    ("application/x-ndjson", JSONL),
    ("application/jsonl", "\n" + JSONL.replace("\n", "\r\n") + "\n\n"),  # CRLF, blank lines
    ("application/x-ndjson; charset=utf-8", "\ufeff" + JSONL),  # a BOM
    (None, JSONL),  # sniffed: the first character is `{`
    ("text/plain", JSONL),
    ("application/octet-stream", json.dumps(MIXED)),  # sniffed: `[`
    ("application/vnd.prm+json", json.dumps(MIXED)),
]


def test_json_lines_and_other_spellings_of_a_body(api):
    resent = [(i, key, "duplicate" if s == "accepted" else s, r) for i, key, s, r in EXPECTED]
    for n, (content_type, body) in enumerate(SPELLINGS):
        headers = {"Content-Type": content_type} if content_type else {}
        response = api.request("POST", "/api/v1/events", content=body.encode(), headers=headers)
        assert results(response) == (EXPECTED if n == 0 else resent), content_type


MALFORMED = [
    ("application/json", b'[{"event_id": "x",', "malformed JSON"),
    ("application/json", b"", "empty body"),
    ("application/json", b'{"event_id": "x"}', "expected a JSON array of objects, got an object"),
    ("application/json", b"null", "got null"),
    ("application/json", b'[{"event_id": "x"}, 3]', "item 1 is not an object but a number"),
    ("application/json", b'[["x"]]', "item 0 is not an object but an array"),
    ("application/json", b"[1e999]", "malformed JSON"),
    ("application/json", b'["\\ud800"]', "malformed JSON"),  # a lone surrogate
    ("application/json", b'["\xff"]', "malformed JSON"),  # not UTF-8
    ("application/x-ndjson", b'{"event_id": "x"}\n{oops}\n', "line 2: malformed JSON"),
    ("application/x-ndjson", b'{"event_id": "x"}\n\n[1]\n', "line 3: expected a JSON object"),
    (None, b"hello", "expected a JSON array of objects or JSON Lines"),
    (None, b"   ", "expected a JSON array of objects or JSON Lines"),
]


def test_malformed_bodies_are_400_and_store_nothing(api):
    before = event_count(api.engine)
    for content_type, body, message in MALFORMED:
        headers = {"Content-Type": content_type} if content_type else {}
        for method, path in (("POST", "/api/v1/events"), ("PUT", "/api/v1/partners")):
            response = api.request(method, path, content=body, headers=headers)
            assert response.status_code == 400, (body, response.text)
            assert message in response.json()["error"], body
    assert event_count(api.engine) == before


def test_an_empty_array_or_empty_json_lines_is_no_items(api):
    empty = {"results": [], "accepted": 0, "duplicates": 0, "rejected": 0}
    assert api.post_events([]).json() == empty
    response = api.request(
        "POST", "/api/v1/events", content=b"\n", headers={"Content-Type": "application/x-ndjson"}
    )
    assert response.json() == empty


def test_unsupported_content_type_or_encoding_is_415(api):
    for headers in (
        {"Content-Type": "text/csv"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
    ):
        response = api.request("POST", "/api/v1/events", content=b"[]", headers=headers)
        assert response.status_code == 415, headers
        assert "not supported" in response.json()["error"]


def test_at_most_10000_items(api):
    assert MAX_ITEMS == 10_000
    items = [ev(f"bulk-{i}", "lead.registered", object_key=f"lead-{i}") for i in range(MAX_ITEMS)]
    before = event_count(api.engine)
    too_many = api.post_events([*items, ev("bulk-last")])
    assert too_many.status_code == 413
    assert "more than 10,000 items" in too_many.json()["error"]
    lines = "".join(json.dumps(item) + "\n" for item in [*items, ev("bulk-last")])
    as_lines = api.request(
        "POST", "/api/v1/events", content=lines, headers={"Content-Type": "application/x-ndjson"}
    )
    assert as_lines.status_code == 413
    for kind in ("partners", "users", "assets"):
        assert api.put(kind, [{"key": f"k{i}"} for i in range(MAX_ITEMS + 1)]).status_code == 413
    assert event_count(api.engine) == before

    exactly = api.post_events(items)
    assert exactly.status_code == 200
    assert exactly.json()["accepted"] == MAX_ITEMS
    assert event_count(api.engine) == before + MAX_ITEMS


def _big_body() -> bytes:
    """A syntactically valid array just over the limit: one event with a huge object_key."""
    body = json.dumps([ev("big", "deal.won", object_key="x" * MAX_BODY_BYTES)]).encode()
    assert len(body) > MAX_BODY_BYTES
    return body


def test_a_body_over_10_mb_is_413(api):
    before = event_count(api.engine)
    body = _big_body()
    # Declared by Content-Length: refused before the body is read.
    declared = api.request(
        "POST", "/api/v1/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert "larger than 10,000,000 bytes" in declared.json()["error"]
    # Chunked (no Content-Length): refused once the bytes received pass the limit.
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    streamed = api.request(
        "PUT", "/api/v1/assets", content=chunks, headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert "larger than" in streamed.json()["error"]
    assert event_count(api.engine) == before


def test_content_length_is_checked_before_reading(api):
    """A request that only announces 10 MB + 1 byte is answered at once: the server does not
    wait for a body it would refuse anyway."""
    address = urlparse(api.url)
    head = (
        f"POST /api/v1/events HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Authorization: {AUTH['Authorization']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(head)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"error"' in answer


def test_small_batches_give_the_same_answers(db_url: str, engine):
    """Items are written in batches of PRM_IMPORT_BATCH_SIZE; an event_id repeated across two
    batches is still a duplicate, and the answers keep request order."""
    seed(engine)
    with serve_api(engine, api_settings(db_url, import_batch_size=2)) as small:
        assert results(small.post_events(MIXED)) == EXPECTED
        assert event_count(engine) == 3 + 9  # the seed has 9 events
