"""`prm import` and `bot.store.importer.import_path` (kpi-spec.md "Data", "Exchange formats",
"Time").

Every test runs on SQLite and, with PRM_TEST_DATABASE_URL, on PostgreSQL. Files are written
into the test's tmp_path; the expected stored values are worked out by hand in comments.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, delete, func, select, update
from sqlmodel import col

import bot.store.importer.report
import bot.store.importer.run
from bot.store.importer import ImportFileError, ImportReport, import_path
from bot.store.tables import Asset, AssetTag, Event, Partner, PartnerUser
from tests.builders import Store

TOKYO = ZoneInfo("Asia/Tokyo")
UTC_ZONE = ZoneInfo("UTC")
EVENT_HEADER = "event_id,occurred_at,type,partner_key,user_key,object_key,amount"


# -- helpers ------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def csv_text(header: str, *rows: str) -> str:
    return "\n".join((header, *rows)) + "\n"


def jsonl_text(*objects: object) -> str:
    return "".join(json.dumps(o) + "\n" for o in objects)


@pytest.fixture
def world(engine: Engine) -> Store:
    """acme (users acme-a, acme-b), globex (globex-a); assets deck (onboarding), case."""
    s = Store(engine)
    s.partner("acme").user("acme-a", "acme").user("acme-b", "acme")
    s.partner("globex").user("globex-a", "globex")
    s.asset("deck", "onboarding").asset("case")
    return s


def events(engine: Engine) -> dict[str, tuple]:
    """event_id -> (occurred_at, type, partner key, user key, object_key, amount)."""
    query = (
        select(
            col(Event.event_id),
            col(Event.occurred_at),
            col(Event.type),
            col(Partner.key),
            col(PartnerUser.key),
            col(Event.object_key),
            col(Event.amount),
        )
        .join(Partner, col(Partner.id) == col(Event.partner_id))
        .join(PartnerUser, col(PartnerUser.id) == col(Event.user_id))
    )
    with engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(query)}


def partners(engine: Engine) -> dict[str, tuple]:
    """key -> (name, signed (an instant, or a plain date), tier, manager, cs)."""
    query = select(
        col(Partner.key),
        col(Partner.name),
        col(Partner.signed_at),
        col(Partner.signed_on),
        col(Partner.tier),
        col(Partner.manager_slack_id),
        col(Partner.cs_slack_id),
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    for row in rows:
        assert row.signed_at is None or row.signed_on is None  # never both
    return {r[0]: (r[1], r[2] if r[2] is not None else r[3], *r[4:]) for r in rows}


def users(engine: Engine) -> dict[str, tuple]:
    """key -> (partner key, name, email, slack_user_id, registered (instant or date), locale)."""
    query = select(
        col(PartnerUser.key),
        col(Partner.key),
        col(PartnerUser.name),
        col(PartnerUser.email),
        col(PartnerUser.slack_user_id),
        col(PartnerUser.registered_at),
        col(PartnerUser.registered_on),
        col(PartnerUser.locale),
    ).join(Partner, col(Partner.id) == col(PartnerUser.partner_id))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    for row in rows:
        assert row[5] is None or row[6] is None  # never both
    return {r[0]: (*r[1:5], r[5] if r[5] is not None else r[6], r[7]) for r in rows}


def assets(engine: Engine) -> dict[str, tuple]:
    """key -> (title, url, sorted tags)."""
    with engine.connect() as conn:
        tags: dict[int | None, list[str]] = {}  # Asset.id is Optional on the model
        for asset_id, tag in conn.execute(select(col(AssetTag.asset_id), col(AssetTag.tag))):
            tags.setdefault(asset_id, []).append(tag)
        rows = conn.execute(select(col(Asset.id), col(Asset.key), col(Asset.title), col(Asset.url)))
        return {key: (title, url, sorted(tags.get(id_, []))) for id_, key, title, url in rows}


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def utc(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


# The clock of every import here ("more than a day in the future" is measured from it).
NOW = datetime(2026, 11, 1, tzinfo=UTC)
KNOWN_TYPES = (
    "user.login, content.downloaded, training.completed, lead.registered, deal.registered, "
    "deal.won, deal.approved, deal.rejected"
)


def run(engine: Engine, kind: str, path: Path, tz: ZoneInfo = UTC_ZONE, **kw) -> ImportReport:
    kw.setdefault("now", NOW)
    return import_path(engine, kind, path, tz, **kw)


def counts(report: ImportReport) -> tuple[int, int, int, int, int]:
    return (report.read, report.inserted, report.updated, report.duplicates, report.rejected)


# -- events: the happy path ---------------------------------------------------------------


def test_events_csv_stored_in_utc_with_mixed_offsets(engine: Engine, world: Store, tmp_path):
    path = write(
        tmp_path,
        "events.csv",
        csv_text(
            EVENT_HEADER,
            "e1,2026-04-01T09:30:00+09:00,user.login,acme,acme-a,,",  # 00:30Z
            "e2,2026-04-01T00:30:00Z,content.downloaded,acme,acme-b,deck,",
            "e3,2026-03-31T19:30:00-05:00,deal.registered,globex,globex-a,D-1,1200.50",  # +5h
            "e4,2026-04-01T00:30:00.250+00:00,deal.won,globex,globex-a,D-1,",
        ),
    )
    report = run(engine, "events", path)
    assert counts(report) == (4, 4, 0, 0, 0)
    assert report.rejections == []
    stored = events(engine)
    assert stored["e1"] == (utc(2026, 4, 1, 0, 30), "user.login", "acme", "acme-a", None, None)
    assert stored["e2"][0] == utc(2026, 4, 1, 0, 30)
    assert stored["e2"][4] == "deck"
    assert stored["e3"][0] == utc(2026, 4, 1, 0, 30)
    assert Decimal(str(stored["e3"][5])) == Decimal("1200.50")
    assert stored["e4"][0] == utc(2026, 4, 1, 0, 30, 0, 250000)


def test_events_jsonl_equals_csv(engine: Engine, world: Store, tmp_path):
    rows = [
        {"event_id": "j1", "occurred_at": "2026-04-01T09:30:00+09:00", "type": "user.login",
         "partner_key": "acme", "user_key": "acme-a", "object_key": None, "amount": None},
        # amount as a JSON number, object_key omitted for a login
        {"event_id": "j2", "occurred_at": "2026-04-02T00:00:00Z", "type": "lead.registered",
         "partner_key": "acme", "user_key": "acme-b", "object_key": "L-1", "amount": 12.5},
        {"event_id": "j3", "occurred_at": "2026-04-02T00:00:00Z", "type": "user.login",
         "partner_key": "globex", "user_key": "globex-a"},
    ]  # fmt: skip
    path = write(tmp_path, "events.jsonl", jsonl_text(*rows))
    report = run(engine, "events", path)
    assert counts(report) == (3, 3, 0, 0, 0)
    stored = events(engine)
    assert stored["j1"] == (utc(2026, 4, 1, 0, 30), "user.login", "acme", "acme-a", None, None)
    assert stored["j2"][3:5] == ("acme-b", "L-1")
    assert Decimal(str(stored["j2"][5])) == Decimal("12.5")
    assert stored["j3"][1:4] == ("user.login", "globex", "globex-a")


def test_csv_with_bom_and_crlf(engine: Engine, world: Store, tmp_path):
    text = csv_text(EVENT_HEADER, "b1,2026-04-01T00:00:00Z,user.login,acme,acme-a,,")
    path = write(tmp_path, "events.csv", text.replace("\n", "\r\n"), bom=True)
    report = run(engine, "events", path)
    assert counts(report) == (1, 1, 0, 0, 0)  # the BOM did not hide the event_id column
    assert set(events(engine)) == {"b1"}


GOOD_LOGIN = "s1,2026-04-01T00:00:00Z,user.login,acme,acme-a,,"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("events.data", '{"event_id": "s1", "occurred_at": "2026-04-01T00:00:00Z", '
         '"type": "user.login", "partner_key": "acme", "user_key": "acme-a"}\n'),
        ("events", "\n\n" + csv_text(EVENT_HEADER, GOOD_LOGIN)),
        ("events.ndjson", '  {"event_id": "s1", "occurred_at": "2026-04-01T00:00:00Z", '
         '"type": "user.login", "partner_key": "acme", "user_key": "acme-a"}\n'),
    ],
    ids=["sniffed-jsonl", "sniffed-csv", "ndjson"],
)  # fmt: skip
def test_format_detection(engine: Engine, world: Store, tmp_path, name: str, text: str):
    report = run(engine, "events", write(tmp_path, name, text))
    assert counts(report) == (1, 1, 0, 0, 0)
    assert set(events(engine)) == {"s1"}


# -- events: one test per rejection reason --------------------------------------------------

GOOD_BEFORE = "g1,2026-04-01T00:00:00Z,user.login,acme,acme-a,,"
GOOD_AFTER = "g2,2026-04-02T00:00:00Z,deal.registered,globex,globex-a,D-9,10"

REJECTIONS = [
    ("unknown-partner", "x,2026-04-01T00:00:00Z,user.login,acme2,acme-a,,",
     "unknown partner 'acme2'"),
    ("unknown-user", "x,2026-04-01T00:00:00Z,user.login,acme,nobody,,",
     "unknown user 'nobody'"),
    ("user-of-another-partner", "x,2026-04-01T00:00:00Z,user.login,acme,globex-a,,",
     "user 'globex-a' belongs to partner 'globex', not 'acme'"),
    ("unknown-event-type", "x,2026-04-01T00:00:00Z,deal.lost,acme,acme-a,D-1,",
     f"unknown event type 'deal.lost' (expected one of {KNOWN_TYPES})"),
    ("time-without-offset", "x,2026-04-01T09:30:00,user.login,acme,acme-a,,",
     "occurred_at: time without offset: '2026-04-01T09:30:00'"),
    ("plain-date-is-not-an-event-time", "x,2026-04-01,user.login,acme,acme-a,,",
     "occurred_at: time without offset: '2026-04-01'"),
    ("unparseable-time", "x,yesterday,user.login,acme,acme-a,,",
     "occurred_at: unparseable time: 'yesterday'"),
    ("missing-event-id", ",2026-04-01T00:00:00Z,user.login,acme,acme-a,,",
     "missing required field 'event_id'"),
    ("missing-occurred-at", "x,,user.login,acme,acme-a,,",
     "missing required field 'occurred_at'"),
    ("missing-type", "x,2026-04-01T00:00:00Z,,acme,acme-a,,",
     "missing required field 'type'"),
    ("missing-partner-key", "x,2026-04-01T00:00:00Z,user.login,,acme-a,,",
     "missing required field 'partner_key'"),
    ("missing-user-key", "x,2026-04-01T00:00:00Z,lead.registered,acme,,L-1,",
     "missing required field 'user_key'"),
    ("missing-object-key", "x,2026-04-01T00:00:00Z,deal.won,acme,acme-a,,5",
     "missing required field 'object_key'"),
    ("blank-cell-is-missing", "x,2026-04-01T00:00:00Z,training.completed,acme,acme-a,   ,",
     "missing required field 'object_key'"),
    ("unknown-asset", "x,2026-04-01T00:00:00Z,content.downloaded,acme,acme-a,deck-x,",
     "unknown asset 'deck-x'"),
    ("bad-amount", "x,2026-04-01T00:00:00Z,deal.won,acme,acme-a,D-1,ten",
     "bad amount 'ten' (not a number)"),
    ("amount-nan", "x,2026-04-01T00:00:00Z,deal.won,acme,acme-a,D-1,NaN",
     "bad amount 'NaN' (not a number)"),
    ("amount-too-large", "x,2026-04-01T00:00:00Z,deal.won,acme,acme-a,D-1,1e30",
     "bad amount '1e30' (out of range: at most 16 digits before the decimal point)"),
    ("event-id-too-long", f"{'e' * 129},2026-04-01T00:00:00Z,user.login,acme,acme-a,,",
     "field 'event_id' too long (129 characters, at most 128)"),
    ("too-many-fields", "x,2026-04-01T00:00:00Z,user.login,acme,acme-a,,,extra",
     "8 fields, but the header has 7"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "reason"), [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS]
)
def test_event_rejection(engine: Engine, world: Store, tmp_path, row: str, reason: str):
    # header = line 1, GOOD_BEFORE = line 2, the bad row = line 3, GOOD_AFTER = line 4
    path = write(tmp_path, "events.csv", csv_text(EVENT_HEADER, GOOD_BEFORE, row, GOOD_AFTER))
    seen: list[tuple[int, str]] = []
    report = run(engine, "events", path, on_reject=lambda line, why: seen.append((line, why)))
    assert report.rejections == [(3, reason)]
    assert seen == [(3, reason)]
    assert counts(report) == (3, 2, 0, 0, 1)
    assert set(events(engine)) == {"g1", "g2"}  # the good rows around it are stored


def test_every_event_type_needs_a_user(engine: Engine, world: Store, tmp_path):
    types = ["user.login", "content.downloaded", "training.completed", "lead.registered",
             "deal.registered", "deal.won"]  # fmt: skip
    rows = [f"x{i},2026-04-01T00:00:00Z,{t},acme,,deck," for i, t in enumerate(types)]
    report = run(engine, "events", write(tmp_path, "e.csv", csv_text(EVENT_HEADER, *rows)))
    assert report.rejections == [(i + 2, "missing required field 'user_key'") for i in range(6)]
    assert count(engine, Event) == 0


def test_invalid_json_lines(engine: Engine, world: Store, tmp_path):
    good = {"event_id": "g1", "occurred_at": "2026-04-01T00:00:00Z", "type": "user.login",
            "partner_key": "acme", "user_key": "acme-a"}  # fmt: skip
    text = (
        json.dumps(good) + "\n"  # line 1
        "\n"  # line 2: blank, skipped but counted
        '{"event_id": "x1", "occurred_at": \n'  # line 3: cut short
        "[1, 2]\n"  # line 4: not an object
        + json.dumps({**good, "event_id": {"nested": 1}})
        + "\n"  # line 5
        + json.dumps({**good, "event_id": "g2"})
        + "\n"  # line 6
    )
    report = run(engine, "events", write(tmp_path, "events.jsonl", text))
    assert report.rejections == [
        (3, "invalid JSON line: Expecting value at column 34"),
        (4, "invalid JSON line: expected an object, got an array"),
        (5, "field 'event_id' must be a string, not an object"),
    ]
    assert counts(report) == (5, 2, 0, 0, 3)
    assert set(events(engine)) == {"g1", "g2"}


def test_jsonl_rejections_use_the_same_reasons(engine: Engine, world: Store, tmp_path):
    text = jsonl_text(
        {"event_id": "x1", "occurred_at": "2026-04-01T00:00:00", "type": "user.login",
         "partner_key": "acme", "user_key": "acme-a"},
        {"event_id": "x2", "occurred_at": "2026-04-01T00:00:00Z", "type": "user.login",
         "partner_key": "acme", "user_key": None},
    )  # fmt: skip
    report = run(engine, "events", write(tmp_path, "e.jsonl", text))
    assert report.rejections == [
        (1, "occurred_at: time without offset: '2026-04-01T00:00:00'"),
        (2, "missing required field 'user_key'"),
    ]


def test_multiline_csv_field_reports_the_line_the_record_starts_on(
    engine: Engine, world: Store, tmp_path
):
    text = csv_text(
        EVENT_HEADER,
        'm1,2026-04-01T00:00:00Z,lead.registered,acme,acme-a,"L-1\nspans\nlines",',  # 2-4
        "",  # line 5: blank, skipped
        "m2,2026-04-01T00:00:00Z,lead.registered,acme,nobody,L-2,",  # line 6
    )
    report = run(engine, "events", write(tmp_path, "e.csv", text))
    assert report.rejections == [(6, "unknown user 'nobody'")]
    assert counts(report) == (2, 1, 0, 0, 1)
    assert events(engine)["m1"][4] == "L-1\nspans\nlines"


def test_not_utf8_row_is_rejected_alone(engine: Engine, world: Store, tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(
        csv_text(EVENT_HEADER, GOOD_BEFORE).encode()
        + b"x,2026-04-01T00:00:00Z,lead.registered,acme,acme-a,L-\xff,\n"
        + (GOOD_AFTER + "\n").encode()
    )
    report = run(engine, "events", path)
    [(line, reason)] = report.rejections
    assert (line, reason.split(";")[0]) == (3, "not valid UTF-8")
    assert set(events(engine)) == {"g1", "g2"}


# -- events: duplicates and re-import -----------------------------------------------------


def test_duplicate_event_ids_in_one_file_and_on_reimport(engine: Engine, world: Store, tmp_path):
    text = csv_text(
        EVENT_HEADER,
        "d1,2026-04-01T00:00:00Z,lead.registered,acme,acme-a,L-1,",
        "d2,2026-04-01T00:00:00Z,lead.registered,acme,acme-a,L-2,",
        "d1,2026-04-05T00:00:00Z,lead.registered,acme,acme-b,L-other,",  # duplicate id
        "d3,2026-04-01T00:00:00Z,lead.registered,acme,nobody,L-3,",  # rejected
    )
    path = write(tmp_path, "events.csv", text)
    first = run(engine, "events", path)
    # The same event_id with other values is not silently dropped: it is rejected, naming
    # the line that was stored (the first occurrence wins).
    repeated = (
        4,
        "event_id 'd1' already appears on line 2 with different values "
        "(occurred_at, user_key, object_key)",
    )
    assert first.rejections == [repeated, (5, "unknown user 'nobody'")]
    assert counts(first) == (4, 2, 0, 0, 2)
    stored = events(engine)
    assert set(stored) == {"d1", "d2"}
    assert stored["d1"][3:5] == ("acme-a", "L-1")

    again = run(engine, "events", path)
    assert counts(again) == (4, 0, 0, 2, 2)  # nothing stored twice, the same rows rejected
    assert again.rejections == first.rejections
    assert count(engine, Event) == 2
    assert events(engine) == stored


def test_duplicates_across_batches(engine: Engine, world: Store, tmp_path):
    # b0, b1, b2 at seconds 0, 1, 2, then the same three again (seconds 0, 1, 2: identical
    # duplicates), then b1 at second 6: another value, in a later batch than the first b1.
    rows = [f"b{i % 3},2026-04-01T00:00:0{i % 3}Z,user.login,acme,acme-a,," for i in range(6)]
    rows.append("b1,2026-04-01T00:00:06Z,user.login,acme,acme-a,,")  # line 8
    path = write(tmp_path, "events.csv", csv_text(EVENT_HEADER, *rows))
    report = run(engine, "events", path, batch_size=2)
    assert counts(report) == (7, 3, 0, 3, 1)
    assert report.rejections == [
        (8, "event_id 'b1' already appears on line 3 with different values (occurred_at)")
    ]
    assert events(engine)["b1"][0] == utc(2026, 4, 1, 0, 0, 1)


def test_concurrent_imports_store_each_event_once(engine: Engine, world: Store, tmp_path):
    rows = [f"c{i},2026-04-01T00:00:00Z,user.login,acme,acme-a,," for i in range(300)]
    path = write(tmp_path, "events.csv", csv_text(EVENT_HEADER, *rows))
    reports: list[ImportReport] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            reports.append(run(engine, "events", path, batch_size=50))
        except BaseException as exc:  # surfaced below; a thread would swallow it
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.inserted for r in reports) == 300
    assert sum(r.duplicates for r in reports) == 300
    assert count(engine, Event) == 300


def test_a_row_the_database_refuses_is_rejected_and_its_batch_mates_stored(
    engine: Engine, world: Store, tmp_path
):
    # globex is deleted after the lookups were read, while the import runs: its event can
    # only be refused by the database (foreign key), in the middle of a batch.
    rows = [
        "r1,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",
        "r2,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",  # batch 1 ends here
        "r3,2026-04-01T00:00:00Z,user.login,acme,acme-b,,",
        "r4,2026-04-01T00:00:00Z,user.login,globex,globex-a,,",  # line 5
    ]
    path = write(tmp_path, "events.csv", csv_text(EVENT_HEADER, *rows))
    calls: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        if not calls:
            with engine.begin() as conn:
                conn.execute(delete(Partner).where(col(Partner.key) == "globex"))
        calls.append((done, total))

    report = run(engine, "events", path, batch_size=2, progress=progress)
    assert counts(report) == (4, 3, 0, 0, 1)
    [(line, reason)] = report.rejections
    assert line == 5
    assert reason.startswith("refused by the database: ")
    assert set(events(engine)) == {"r1", "r2", "r3"}
    size = path.stat().st_size
    assert calls[-1] == (size, size)


def test_rejections_kept_are_capped_but_counts_exact(
    engine: Engine, world: Store, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(bot.store.importer.report, "MAX_KEPT_REJECTIONS", 3)
    rows = [f"u{i},2026-04-01T00:00:00Z,user.login,acme,nobody,," for i in range(5)]
    seen: list[int] = []
    report = run(
        engine,
        "events",
        write(tmp_path, "e.csv", csv_text(EVENT_HEADER, GOOD_BEFORE, *rows)),
        on_reject=lambda line, _: seen.append(line),
    )
    assert counts(report) == (6, 1, 0, 0, 5)
    assert [line for line, _ in report.rejections] == [3, 4, 5]
    assert seen == [3, 4, 5, 6, 7]


# -- partners, users, assets ----------------------------------------------------------------

PARTNER_HEADER = "key,name,signed_at,tier,manager_slack_id,cs_slack_id"
USER_HEADER = "key,partner_key,name,email,slack_user_id,registered_at,locale"


def test_plain_dates_stay_dates_whatever_the_import_zone(engine: Engine, tmp_path):
    # A plain date means midnight in the zone a *report* is read in, so it is kept as a date.
    p = write(tmp_path, "p.csv", csv_text(PARTNER_HEADER, "acme,Acme,2026-04-01,gold,U1,U2"))
    assert counts(run(engine, "partners", p, TOKYO)) == (1, 1, 0, 0, 0)
    u = write(tmp_path, "u.csv", csv_text(USER_HEADER, "acme-a,acme,A,a@x.jp,UA,2026-04-02,ja"))
    assert counts(run(engine, "users", u, TOKYO)) == (1, 1, 0, 0, 0)
    assert partners(engine)["acme"] == ("Acme", date(2026, 4, 1), "gold", "U1", "U2")
    assert users(engine)["acme-a"] == ("acme", "A", "a@x.jp", "UA", date(2026, 4, 2), "ja")
    # re-imported with an instant, the date is cleared (and back again)
    p2 = csv_text(PARTNER_HEADER, "acme,Acme,2026-04-01T09:00:00+09:00,gold,U1,U2")
    run(engine, "partners", write(tmp_path, "p2.csv", p2), TOKYO)
    assert partners(engine)["acme"][1] == utc(2026, 4, 1)
    run(engine, "partners", p, TOKYO)
    assert partners(engine)["acme"][1] == date(2026, 4, 1)


def test_partner_times_with_offsets_and_rejections(engine: Engine, tmp_path):
    text = csv_text(
        PARTNER_HEADER,
        "acme,Acme,2026-04-01T09:00:00+09:00,,,",  # 00:00Z
        ",Nameless,2026-04-01,,,",  # line 3
        "globex,,2026-04-01,,,",  # line 4
        "initech,Initech,2026-04-01T09:00:00,,,",  # line 5
        "hooli,Hooli,2026-13-01,,,",  # line 6
        f"umbrella,Umbrella,,{'t' * 65},,",  # line 7
    )
    report = run(engine, "partners", write(tmp_path, "p.csv", text), TOKYO)
    assert report.rejections == [
        (3, "missing required field 'key'"),
        (4, "missing required field 'name'"),
        (5, "signed_at: time without offset: '2026-04-01T09:00:00'"),
        (6, "signed_at: unparseable date: '2026-13-01'"),
        (7, "field 'tier' too long (65 characters, at most 64)"),
    ]
    assert partners(engine) == {"acme": ("Acme", utc(2026, 4, 1), None, None, None)}


def test_user_rejections(engine: Engine, world: Store, tmp_path):
    text = csv_text(
        USER_HEADER,
        "new-a,acme,New,,,2026-04-01,",
        ",acme,No key,,,,",  # line 3
        "new-b,,No partner,,,,",  # line 4
        "new-c,acme2,Lost,,,,",  # line 5
    )
    report = run(engine, "users", write(tmp_path, "u.csv", text))
    assert report.rejections == [
        (3, "missing required field 'key'"),
        (4, "missing required field 'partner_key'"),
        (5, "unknown partner 'acme2'"),
    ]
    assert counts(report) == (4, 1, 0, 0, 3)
    assert set(users(engine)) == {"acme-a", "acme-b", "globex-a", "new-a"}


def test_asset_rejections(engine: Engine, tmp_path):
    text = csv_text("key,title,url,tags", "a1,A,,", ",Keyless,,", f"a2,B,,ok;{'t' * 70}")
    report = run(engine, "assets", write(tmp_path, "a.csv", text))
    assert report.rejections == [
        (3, "missing required field 'key'"),
        (4, f"tag {'t' * 20 + '…'!r} too long (70 characters, at most 64)"),
    ]
    assert set(assets(engine)) == {"a1"}


def test_entity_reimport_updates_by_key(engine: Engine, tmp_path):
    first = csv_text(PARTNER_HEADER, "acme,Acme,2026-01-01,silver,U1,U2", "globex,Globex,,,,")
    report = run(engine, "partners", write(tmp_path, "p1.csv", first))
    assert counts(report) == (2, 2, 0, 0, 0)

    # acme renamed, tier cleared by an empty cell; globex unchanged; initech new
    second = csv_text(
        PARTNER_HEADER,
        "acme,ACME Corp,2026-01-01,,U1,U2",
        "globex,Globex,,,,",
        "initech,Initech,2026-02-01,gold,,",
    )
    report = run(engine, "partners", write(tmp_path, "p2.csv", second))
    assert counts(report) == (3, 1, 2, 0, 0)  # an unchanged row counts as updated
    assert partners(engine) == {
        "acme": ("ACME Corp", date(2026, 1, 1), None, "U1", "U2"),
        "globex": ("Globex", None, None, None, None),
        "initech": ("Initech", date(2026, 2, 1), "gold", None, None),
    }
    assert count(engine, Partner) == 3


def test_columns_a_file_lacks_are_left_alone(engine: Engine, tmp_path):
    run(engine, "partners", write(tmp_path, "p.csv", csv_text(PARTNER_HEADER, "acme,A,,,U1,U2")))
    # only key and name: the managers stay; a JSON line without "tier" leaves it too
    run(engine, "partners", write(tmp_path, "p2.csv", csv_text("key,name", "acme,Acme")))
    assert partners(engine)["acme"] == ("Acme", None, None, "U1", "U2")
    text = jsonl_text({"key": "acme", "name": "Acme", "cs_slack_id": None})
    report = run(engine, "partners", write(tmp_path, "p.jsonl", text))
    assert counts(report) == (1, 0, 1, 0, 0)
    assert partners(engine)["acme"] == ("Acme", None, None, "U1", None)


def test_same_key_twice_in_one_file_the_first_row_wins(engine: Engine, world: Store, tmp_path):
    text = csv_text(USER_HEADER, "new,acme,First,f@x,,,", "new,acme,Second,,,,en")
    report = run(engine, "users", write(tmp_path, "u.csv", text))
    assert report.rejections == [(3, "key 'new' already appears on line 2")]
    assert counts(report) == (2, 1, 0, 0, 1)
    assert users(engine)["new"] == ("acme", "First", "f@x", None, None, None)


def test_a_user_cannot_move_to_another_partner(engine: Engine, world: Store, tmp_path):
    text = csv_text(
        "key,partner_key,name",
        "acme-b,globex,Moved",  # stored under acme: refused
        "acme-b,acme,Renamed",  # same partner: an update
        "fresh,acme,New",
        "fresh,globex,Moved too",  # moved within the file: refused too
    )
    report = run(engine, "users", write(tmp_path, "u.csv", text))
    assert counts(report) == (4, 1, 1, 0, 2)
    assert report.rejections == [
        (
            2,
            "user 'acme-b' belongs to partner 'acme', not 'globex' "
            "(a user cannot move to another partner)",
        ),
        (
            5,
            "user 'fresh' belongs to partner 'acme', not 'globex' "
            "(a user cannot move to another partner)",
        ),
    ]
    assert users(engine)["acme-b"][:2] == ("acme", "Renamed")
    assert users(engine)["acme-b"][2] == "acme-b@example.com"  # email untouched
    assert users(engine)["fresh"][:2] == ("acme", "New")


def test_asset_tags_are_replaced_on_reimport(engine: Engine, tmp_path):
    first = csv_text("key,title,url,tags", "deck,Deck,https://x/d,onboarding; sales", "case,C,,")
    report = run(engine, "assets", write(tmp_path, "a1.csv", first))
    assert counts(report) == (2, 2, 0, 0, 0)
    assert assets(engine) == {
        "deck": ("Deck", "https://x/d", ["onboarding", "sales"]),
        "case": ("C", None, []),
    }
    second = csv_text("key,title,url,tags", "deck,Deck 2,https://x/d,sales;retail;;sales")
    assert counts(run(engine, "assets", write(tmp_path, "a2.csv", second))) == (1, 0, 1, 0, 0)
    assert assets(engine)["deck"] == ("Deck 2", "https://x/d", ["retail", "sales"])
    # an empty tags cell clears them; a file without the tags column leaves them alone
    run(engine, "assets", write(tmp_path, "a3.csv", csv_text("key,tags", "deck,")))
    assert assets(engine)["deck"][2] == []
    run(engine, "assets", write(tmp_path, "a4.csv", csv_text("key,tags", "case,x")))
    run(engine, "assets", write(tmp_path, "a5.csv", csv_text("key,title", "case,Case")))
    assert assets(engine)["case"] == ("Case", None, ["x"])
    # JSON Lines may give the tags as a list
    run(
        engine,
        "assets",
        write(tmp_path, "a.jsonl", jsonl_text({"key": "case", "tags": ["a", "b"]})),
    )
    assert assets(engine)["case"][2] == ["a", "b"]
    assert count(engine, AssetTag) == 2


# -- partners: the shared Slack channel ------------------------------------------------------

CHANNEL_HEADER = PARTNER_HEADER + ",slack_channel_id"


def channels(engine: Engine) -> dict[str, str | None]:
    """partner key -> slack_channel_id."""
    with engine.connect() as conn:
        return dict(conn.execute(select(col(Partner.key), col(Partner.slack_channel_id))).all())


def test_slack_channel_ids_accepted(engine: Engine, tmp_path):
    text = csv_text(
        CHANNEL_HEADER,
        "p1,P1,,,,,C0PARTNER017",  # public channel
        "p2,P2,,,,,G01ABCDEF",  # private channel (the old id form)
        "p3,P3,,,,,C12",  # the shortest: a letter and two more
        f"p4,P4,,,,,C{'Z9' * 15}A",  # the longest: 32 characters, the column's width
        "p5,P5,,,,,",  # empty: no channel
        "p6,P6,,,,,  C0PADDED  ",  # surrounding blanks are trimmed, as in every cell
    )
    report = run(engine, "partners", write(tmp_path, "p.csv", text))
    assert counts(report) == (6, 6, 0, 0, 0)
    assert channels(engine) == {
        "p1": "C0PARTNER017",
        "p2": "G01ABCDEF",
        "p3": "C12",
        "p4": "C" + "Z9" * 15 + "A",
        "p5": None,
        "p6": "C0PADDED",
    }
    # JSON Lines: a string, null, or no key at all (a new partner then has none)
    text = jsonl_text(
        {"key": "j1", "name": "J1", "slack_channel_id": "C0JSON1"},
        {"key": "j2", "name": "J2", "slack_channel_id": None},
        {"key": "j3", "name": "J3"},
    )
    assert counts(run(engine, "partners", write(tmp_path, "p.jsonl", text))) == (3, 3, 0, 0, 0)
    assert {k: v for k, v in channels(engine).items() if k.startswith("j")} == {
        "j1": "C0JSON1",
        "j2": None,
        "j3": None,
    }


def _not_a_channel(shown: str, hint: str = "") -> str:
    return (
        f"slack_channel_id: not a Slack channel id: {shown!r}{hint} "
        "(expected C or G, then 2 to 31 capital letters or digits)"
    )


CHANNEL_REJECTIONS = [
    ("lower-case", "c0partner017", _not_a_channel("c0partner017")),
    ("user-id", "U012AB3CD", _not_a_channel("U012AB3CD")),
    ("channel-name", "#partner-acme",
     _not_a_channel("#partner-acme", " — a channel name, not its id")),
    ("too-short", "C1", _not_a_channel("C1")),
    ("too-long", "C" + "A" * 32, _not_a_channel("C" + "A" * 32)),
    ("far-too-long", "C" + "A" * 60, _not_a_channel("C" + "A" * 39 + "…")),
    ("punctuation", "C0AB-CD", _not_a_channel("C0AB-CD")),
    ("inner-blank", "C0AB CD", _not_a_channel("C0AB CD")),
    ("url", "https://acme.slack.com/archives/C0ABC",
     _not_a_channel("https://acme.slack.com/archives/C0ABC")),
    ("direct-message", "D024BE91L",
     "slack_channel_id: 'D024BE91L' is a direct-message id, not a channel (expected C… or G…)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "reason"),
    [r[1:] for r in CHANNEL_REJECTIONS],
    ids=[r[0] for r in CHANNEL_REJECTIONS],
)
def test_slack_channel_id_rejections(engine: Engine, tmp_path, value: str, reason: str):
    # header = line 1, good = line 2, the bad row = line 3, good = line 4
    text = csv_text(CHANNEL_HEADER, "good1,G1,,,,,C0GOOD1", f"bad,Bad,,,,,{value}", "good2,G2,,,,,")
    report = run(engine, "partners", write(tmp_path, "p.csv", text))
    assert report.rejections == [(3, reason)]
    assert counts(report) == (3, 2, 0, 0, 1)
    assert channels(engine) == {"good1": "C0GOOD1", "good2": None}  # the bad row stored nothing


def test_slack_channel_id_rejections_in_json_lines(engine: Engine, tmp_path):
    text = jsonl_text(
        {"key": "ok", "name": "OK", "slack_channel_id": "G0OK"},  # line 1
        {"key": "num", "name": "Num", "slack_channel_id": 12345},  # line 2: a JSON number
        {"key": "dm", "name": "DM", "slack_channel_id": "D0DM"},  # line 3
        {"key": "obj", "name": "Obj", "slack_channel_id": {"id": "C0X"}},  # line 4
    )
    report = run(engine, "partners", write(tmp_path, "p.jsonl", text))
    assert report.rejections == [
        (2, _not_a_channel("12345")),
        (3, "slack_channel_id: 'D0DM' is a direct-message id, not a channel (expected C… or G…)"),
        (4, "field 'slack_channel_id' must be a string, not an object"),
    ]
    assert channels(engine) == {"ok": "G0OK"}


def test_slack_channel_id_is_upserted_like_the_other_partner_fields(engine: Engine, tmp_path):
    first = csv_text(CHANNEL_HEADER, "acme,Acme,,gold,U1,U2,C0ACME", "globex,Globex,,,,,G0GLOBEX")
    assert counts(run(engine, "partners", write(tmp_path, "p1.csv", first))) == (2, 2, 0, 0, 0)

    # a new channel for acme; globex's cell emptied, so its channel is cleared
    second = csv_text(CHANNEL_HEADER, "acme,Acme,,gold,U1,U2,C0ACMENEW", "globex,Globex,,,,,")
    assert counts(run(engine, "partners", write(tmp_path, "p2.csv", second))) == (2, 0, 2, 0, 0)
    assert channels(engine) == {"acme": "C0ACMENEW", "globex": None}

    # a file without the column (the spec's own format) leaves the channel alone
    third = csv_text(PARTNER_HEADER, "acme,ACME Corp,,gold,U1,U2")
    assert counts(run(engine, "partners", write(tmp_path, "p3.csv", third))) == (1, 0, 1, 0, 0)
    assert channels(engine)["acme"] == "C0ACMENEW"
    assert partners(engine)["acme"][0] == "ACME Corp"
    text = jsonl_text({"key": "acme", "name": "ACME Corp", "tier": "platinum"})
    run(engine, "partners", write(tmp_path, "p.jsonl", text))
    assert channels(engine)["acme"] == "C0ACMENEW"

    # a rejected channel leaves the whole stored row as it was, channel included
    bad = csv_text(CHANNEL_HEADER, "acme,Renamed,,silver,,,#acme")
    assert run(engine, "partners", write(tmp_path, "p4.csv", bad)).rejected == 1
    assert partners(engine)["acme"] == ("ACME Corp", None, "platinum", "U1", "U2")
    assert channels(engine)["acme"] == "C0ACMENEW"

    # JSON null clears it
    text = jsonl_text({"key": "acme", "name": "ACME Corp", "slack_channel_id": None})
    run(engine, "partners", write(tmp_path, "p2.jsonl", text))
    assert channels(engine) == {"acme": None, "globex": None}


def test_cli_reports_a_bad_slack_channel_id_by_line(cli, engine: Engine, tmp_path):
    text = csv_text(CHANNEL_HEADER, "acme,Acme,,,,,C0ACME", "globex,Globex,,,,,D0DM")
    result = cli("import", "partners", str(write(tmp_path, "partners.csv", text)))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "line 3: slack_channel_id: 'D0DM' is a direct-message id, not a channel "
        "(expected C… or G…)",
        "partners.csv: read 2, inserted 1, updated 0, duplicates 0, rejected 1",
    ]


# -- columns the bot owns survive a re-import ----------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_users_reimport_keeps_tips_off_at(engine: Engine, world: Store, tmp_path, fmt: str):
    """`partner_user.tips_off_at` is set by the bot ("Stop these tips"), not by any file."""
    stopped = utc(2026, 4, 3, 12, 30)
    with engine.begin() as conn:
        conn.execute(
            update(PartnerUser).where(col(PartnerUser.key) == "acme-a").values(tips_off_at=stopped)
        )
    rows = [
        ("acme-a", "acme", "Renamed A", "a@acme.example", "UA", "2026-04-01", "ja"),
        ("acme-b", "acme", "B", "", "", "", "en"),
        ("acme-c", "acme", "New C", "", "", "", ""),  # a new user: no tips_off_at
    ]
    if fmt == "csv":
        text = csv_text(USER_HEADER, *(",".join(r) for r in rows))
    else:
        names = USER_HEADER.split(",")
        text = jsonl_text(*({n: v or None for n, v in zip(names, r, strict=True)} for r in rows))
    report = run(engine, "users", write(tmp_path, f"u.{fmt}", text))
    assert counts(report) == (3, 1, 2, 0, 0)
    renamed = ("acme", "Renamed A", "a@acme.example", "UA", date(2026, 4, 1), "ja")
    assert users(engine)["acme-a"] == renamed  # the file's columns were all updated
    with engine.connect() as conn:
        tips_off = dict(
            conn.execute(select(col(PartnerUser.key), col(PartnerUser.tips_off_at))).all()
        )
    assert tips_off == {"acme-a": stopped, "acme-b": None, "globex-a": None, "acme-c": None}


# -- whole-file errors -----------------------------------------------------------------------


def test_missing_required_column_stores_nothing(engine: Engine, world: Store, tmp_path):
    header = "event_id,occurred_at,type,partner_key,object_key,amount"  # no user_key
    path = write(tmp_path, "e.csv", csv_text(header, "x,2026-04-01T00:00:00Z,user.login,acme,,"))
    with pytest.raises(ImportFileError, match=r"lacks the required events column user_key"):
        run(engine, "events", path)
    assert count(engine, Event) == 0


@pytest.mark.parametrize(
    ("kind", "header", "missing"),
    [
        ("partners", "key,tier", "name"),
        ("users", "key,name", "partner_key"),
        ("assets", "title,url", "key"),
        ("events", "event_id,occurred_at,type,partner_key,user_key", "object_key"),
    ],
)
def test_required_columns_per_kind(engine: Engine, tmp_path, kind, header, missing):
    with pytest.raises(ImportFileError, match=rf"column {missing} "):
        run(engine, kind, write(tmp_path, "f.csv", csv_text(header, "a,b")))


def test_unknown_kind_and_missing_file(engine: Engine, tmp_path):
    with pytest.raises(ImportFileError, match="unknown kind 'deals'"):
        run(engine, "deals", write(tmp_path, "f.csv", "key\n"))
    with pytest.raises(ImportFileError, match="no such file"):
        run(engine, "events", tmp_path / "absent.csv")
    with pytest.raises(ImportFileError, match="empty file"):
        run(engine, "events", write(tmp_path, "empty.csv", ""))


# -- the command ----------------------------------------------------------------------------


def test_cli_prints_rejections_then_summary_and_exits_1(cli, engine: Engine, world, tmp_path):
    text = csv_text(
        EVENT_HEADER,
        "e1,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",
        "e2,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",
        "e3,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",
        "e4,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",
        "e5,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",
        "e6,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",
        "e7,2026-04-01T00:00:00Z,user.login,acme2,acme-a,,",  # line 8
        "e1,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",  # duplicate
        "e8,2026-04-01T00:00:00Z,deal.lost,acme,acme-a,D,",  # line 10
        "e9,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",
    )
    path = write(tmp_path, "events.csv", text)
    result = cli("import", "events", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "line 8: unknown partner 'acme2'",
        f"line 10: unknown event type 'deal.lost' (expected one of {KNOWN_TYPES})",
        "events.csv: read 10, inserted 7, updated 0, duplicates 1, rejected 2",
    ]
    assert result.stderr == ""

    again = cli("import", "events", str(path))
    assert again.stdout.splitlines()[-1] == (
        "events.csv: read 10, inserted 0, updated 0, duplicates 8, rejected 2"
    )
    assert count(engine, Event) == 7


def test_cli_clean_import_exits_0(cli, engine: Engine, tmp_path):
    path = write(tmp_path, "partners.jsonl", jsonl_text({"key": "acme", "name": "Acme"}))
    result = cli("import", "partners", str(path))
    assert result.exit_code == 0, result.output
    assert (
        result.stdout == "partners.jsonl: read 1, inserted 1, updated 0, duplicates 0, rejected 0\n"
    )


def test_cli_uses_the_configured_batch_size(cli, engine: Engine, tmp_path):
    rows = [f"p{i},P{i},2026-04-01,,," for i in range(5)]
    path = write(tmp_path, "partners.csv", csv_text(PARTNER_HEADER, *rows))
    env = {"PRM_TIMEZONE": "Asia/Tokyo", "PRM_IMPORT_BATCH_SIZE": "2"}
    result = cli("import", "partners", str(path), env=env)
    assert result.exit_code == 0, result.output
    assert "read 5, inserted 5" in result.stdout
    assert {v[1] for v in partners(engine).values()} == {date(2026, 4, 1)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "deals", "x.csv"), "unknown kind 'deals': choose one of partners, users"),
        (("import", "events", "absent.csv"), "no such file: absent.csv"),
    ],
)
def test_cli_usage_errors_exit_2(cli, engine: Engine, args, message):
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_cli_missing_column_exits_2_and_stores_nothing(cli, engine: Engine, tmp_path):
    path = write(tmp_path, "partners.csv", csv_text("key,[/tier]", "acme,gold"))
    result = cli("import", "partners", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: partners.csv: the header lacks the required")
    assert "column name (found: key, [/tier])" in result.stderr  # printed as typed
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    assert count(engine, Partner) == 0


def test_large_event_import_refreshes_postgres_visibility(
    engine: Engine, world: Store, tmp_path, monkeypatch
):
    """Index-only KPI scans need the visibility map: a big import vacuums at once."""
    if engine.dialect.name != "postgresql":
        pytest.skip("VACUUM is PostgreSQL's")
    monkeypatch.setattr(bot.store.importer.run, "VACUUM_AFTER_ROWS", 2)
    path = write(
        tmp_path,
        "events.csv",
        csv_text(
            EVENT_HEADER,
            "v1,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",
            "v2,2026-04-02T00:00:00Z,user.login,acme,acme-a,,",
        ),
    )
    assert counts(run(engine, "events", path)) == (2, 2, 0, 0, 0)
    with engine.connect() as conn:
        vacuumed = conn.exec_driver_sql(
            "SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables "
            "WHERE relname = 'event_y2026m04'"  # the month's partition
        ).scalar()
    assert vacuumed
