"""The importer against hostile files (docs/import.md, "What is rejected, and why").

One test per rule, then, for each kind, a hostile CSV and a hostile JSON Lines file mixing
all of them with good rows, through the real `prm import`: every bad line is named with its
number, the good rows are stored once, the exit code is 1, there is no traceback, and a
re-run stores nothing twice. Every test runs on SQLite and, with PRM_TEST_DATABASE_URL, on
PostgreSQL. The importer's clock is fixed (`NOW`): no test depends on today's date.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select
from sqlmodel import col

import bot.cli.import_cmd
from bot.store.importer import ImportFileError, import_objects
from bot.store.importer.hints import guess_encoding
from bot.store.tables import Asset, Event, Partner, PartnerUser
from tests.builders import Store
from tests.store.test_import import (
    EVENT_HEADER,
    PARTNER_HEADER,
    USER_HEADER,
    UTC_ZONE,
    assets,
    count,
    counts,
    csv_text,
    events,
    jsonl_text,
    partners,
    run,
    users,
    utc,
    write,
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)  # the clock `run` gives every import
OUT_OF_RANGE = "(use a time in the years 1900 to 2999)"
GOOD = "g1,2026-04-01T00:00:00Z,user.login,acme,acme-a,,"


@pytest.fixture
def world(engine: Engine) -> Store:
    """acme (users acme-a, acme-b), globex (globex-a); assets deck (onboarding), case."""
    s = Store(engine)
    s.partner("acme").user("acme-a", "acme").user("acme-b", "acme")
    s.partner("globex").user("globex-a", "globex")
    s.asset("deck", "onboarding").asset("case")
    return s


def login(event_id: str, at: str = "2026-04-01T00:00:00Z", **fields: object) -> dict:
    return {
        "event_id": event_id,
        "occurred_at": at,
        "type": "user.login",
        "partner_key": "acme",
        "user_key": "acme-a",
        **fields,
    }


# -- 1. times that parse but overflow --------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_times_that_overflow_are_rejected_with_a_reason(engine, world, tmp_path, fmt):
    times = [
        "9999-12-31T23:00:00-14:00",  # line 2: past the year 9999 in UTC
        "0001-01-01T00:00:00+01:00",  # line 3: before the year 1 in UTC
        "1899-12-31T23:59:59Z",  # line 4
        "3000-01-01T00:00:00Z",  # line 5
        "2026-04-01T09:00:00+09:00",  # line 6: good
        "1900-01-01T00:00:00+09:00",  # line 7: good (1899 in UTC, written in 1900)
    ]
    if fmt == "csv":
        text = csv_text(
            EVENT_HEADER,
            *(f"t{i},{at},user.login,acme,acme-a,," for i, at in enumerate(times, start=2)),
        )
        first = 2
    else:
        text = jsonl_text(*(login(f"t{i}", at) for i, at in enumerate(times, start=1)))
        first = 1
    report = run(engine, "events", write(tmp_path, f"e.{fmt}", text))
    assert report.rejections == [
        (first + i, f"occurred_at: out of range: {times[i]!r} {OUT_OF_RANGE}") for i in range(4)
    ]
    assert counts(report) == (6, 2, 0, 0, 4)
    assert {v[0] for v in events(engine).values()} == {utc(2026, 4, 1), utc(1899, 12, 31, 15)}


def test_plain_dates_out_of_range_are_rejected(engine, world, tmp_path):
    """A plain date is stored as a date and read as midnight in the report's zone: one
    that cannot be (the year 1, the year 9999 west of UTC) would break every report."""
    text = csv_text(
        PARTNER_HEADER,
        "p1,P1,0001-01-01,,,",  # line 2
        "p2,P2,9999-12-31,,,",  # line 3
        "p3,P3,9999-12-31T23:00:00-14:00,,,",  # line 4
        "p4,P4,1900-01-01,,,",  # line 5: good
    )
    report = run(engine, "partners", write(tmp_path, "p.csv", text))
    assert report.rejections == [
        (2, "signed_at: out of range: '0001-01-01' (use a date in the years 1900 to 2999)"),
        (3, "signed_at: out of range: '9999-12-31' (use a date in the years 1900 to 2999)"),
        (4, f"signed_at: out of range: '9999-12-31T23:00:00-14:00' {OUT_OF_RANGE}"),
    ]
    assert partners(engine)["p4"][1] == date(1900, 1, 1)
    text = csv_text("key,partner_key,registered_at", "u1,acme,0001-01-01", "u2,acme,2026-01-01")
    report = run(engine, "users", write(tmp_path, "u.csv", text))
    assert [line for line, _ in report.rejections] == [2]


# -- 2. encodings ---------------------------------------------------------------------------

JAPANESE_PARTNERS = csv_text(
    PARTNER_HEADER,
    "acme,株式会社アクメ,2026-01-01,ゴールド,U0MGR001,U0CS0001",  # line 2
    "globex,Globex,2026-01-01,,,",  # line 3: plain ASCII
    "initech,イニテック合同会社,2026-02-01,,,",  # line 4
)


def test_shift_jis_file_imports_with_encoding_cp932(cli, engine, tmp_path):
    path = tmp_path / "partners.csv"
    path.write_bytes(JAPANESE_PARTNERS.replace("\n", "\r\n").encode("cp932"))
    result = cli("import", "partners", str(path), "--encoding", "cp932")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("read 3, inserted 3, updated 0, duplicates 0, rejected 0\n")
    stored = partners(engine)
    assert stored["acme"][0] == "株式会社アクメ"
    assert stored["acme"][2] == "ゴールド"
    assert stored["initech"][0] == "イニテック合同会社"


def test_shift_jis_without_encoding_names_the_likely_encoding(cli, engine, tmp_path):
    path = tmp_path / "partners.csv"
    path.write_bytes(JAPANESE_PARTNERS.encode("cp932"))
    result = cli("import", "partners", str(path))
    assert result.exit_code == 1
    hint = "not valid UTF-8; it looks like Shift-JIS: try --encoding cp932"
    assert result.stdout.splitlines() == [
        f"line 2: {hint}",
        f"line 4: {hint}",
        "partners.csv: read 3, inserted 1, updated 0, duplicates 0, rejected 2",
    ]
    assert set(partners(engine)) == {"globex"}
    # Told the encoding, the same file imports whole (the ASCII row is updated).
    again = cli("import", "partners", str(path), "--encoding", "shift_jis")
    assert again.exit_code == 0, again.output
    assert partners(engine)["acme"][0] == "株式会社アクメ"


def test_other_encodings_and_their_hints(engine, tmp_path):
    euc = tmp_path / "euc.csv"
    euc.write_bytes(JAPANESE_PARTNERS.encode("euc_jp"))
    report = run(engine, "partners", euc)
    assert report.rejections[0] == (
        2,
        "not valid UTF-8; it looks like EUC-JP: try --encoding euc_jp",
    )
    assert counts(run(engine, "partners", euc, encoding="euc_jp")) == (3, 2, 1, 0, 0)

    # UTF-16 (Excel's "Unicode text"): the lines are not split on the byte 0x0A.
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(JAPANESE_PARTNERS.replace("アクメ", "ACME").encode("utf-16"))
    assert counts(run(engine, "partners", utf16, encoding="utf-16")) == (3, 0, 3, 0, 0)
    assert partners(engine)["acme"][0] == "株式会社ACME"
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_bytes(jsonl_text({"key": "umbrella", "name": "アンブレラ"}).encode("utf-16"))
    assert counts(run(engine, "partners", jsonl, encoding="utf-16")) == (1, 1, 0, 0, 0)
    assert partners(engine)["umbrella"][0] == "アンブレラ"

    # A line that does not decode in the given encoding is that line's rejection.
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(csv_text(PARTNER_HEADER, "a1,A1,,,,").encode("cp932") + b"a2,\x82\xff,,,,\n")
    report = run(engine, "partners", mixed, encoding="cp932")
    assert report.rejections == [(3, "not valid cp932")]
    assert "a1" in partners(engine)


def test_utf8_with_a_bom_keeps_working_whatever_utf8_is_named(engine, tmp_path):
    path = write(tmp_path, "p.csv", csv_text(PARTNER_HEADER, "acme,Acme,,,,"), bom=True)
    for encoding in (None, "utf-8", "UTF8", "utf-8-sig"):
        assert run(engine, "partners", path, encoding=encoding).rejected == 0, encoding
    assert set(partners(engine)) == {"acme"}


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        ("klingon", "unknown encoding 'klingon': give a Python codec name such as utf-8"),
        ("base64", "'base64' is not a text encoding"),
    ],
)
def test_cli_unknown_encoding_is_one_line_and_exit_2(cli, engine, tmp_path, encoding, message):
    path = write(tmp_path, "partners.csv", csv_text(PARTNER_HEADER, "acme,Acme,,,,"))
    result = cli("import", "partners", str(path), "--encoding", encoding)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    assert count(engine, Partner) == 0


def test_utf16_without_encoding_is_refused_whole_with_a_hint(cli, engine, tmp_path):
    path = tmp_path / "partners.csv"
    path.write_bytes(csv_text(PARTNER_HEADER, "acme,Acme,,,,").encode("utf-16"))
    result = cli("import", "partners", str(path))
    assert result.exit_code == 2
    assert "it looks like UTF-16: try --encoding utf-16" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_guess_encoding() -> None:
    assert guess_encoding("株式会社テスト".encode("cp932")) == ("Shift-JIS", "cp932")
    assert guess_encoding("ﾃｽﾄ株式会社テスト".encode("cp932")) == ("Shift-JIS", "cp932")
    assert guess_encoding("山田太郎".encode("euc_jp")) == ("EUC-JP", "euc_jp")
    assert guess_encoding("key".encode("utf-16-le")) == ("UTF-16", "utf-16-le")
    assert guess_encoding("Café Zoë".encode("cp1252")) == (
        "Windows-1252 (Western European)",
        "cp1252",
    )
    assert guess_encoding(b"\x81\x8d") is None


# -- 3. an unclosed quote -------------------------------------------------------------------


def test_an_unclosed_quote_costs_its_own_row_only(engine, world, tmp_path):
    text = csv_text(
        EVENT_HEADER,
        'q1,2026-04-01T00:00:00Z,lead.registered,acme,acme-a,"L-1\nspans two lines",',  # 2-3
        'q2,2026-04-01T00:00:00Z,lead.registered,acme,acme-a,"L-2,',  # line 4: never closed
        "q3,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",  # line 5
        'q4,2026-04-01T00:00:00Z,deal.won,acme,acme-a,"D-4",5',  # line 6: a quote of its own
        "q5,2026-04-01T00:00:00Z,user.login,acme,nobody,,",  # line 7
        'q6,2026-04-01T00:00:00Z,lead.registered,acme,acme-a,"L-6\nalso fine",',  # 8-9
    )
    report = run(engine, "events", write(tmp_path, "e.csv", text))
    assert report.rejections == [
        (
            4,
            "malformed CSV record: unclosed quote: a quoted field opened on this line runs on "
            "to line 6 (',' expected after '\"'); the lines after it are read on their own",
        ),
        (7, "unknown user 'nobody'"),
    ]
    assert counts(report) == (6, 4, 0, 0, 2)
    stored = events(engine)
    assert set(stored) == {"q1", "q3", "q4", "q6"}
    assert stored["q1"][4] == "L-1\nspans two lines"
    assert stored["q6"][4] == "L-6\nalso fine"


def test_an_unclosed_quote_that_runs_to_the_end_of_the_file(engine, world, tmp_path):
    text = csv_text(
        EVENT_HEADER,
        GOOD,
        'u2,2026-04-01T00:00:00Z,lead.registered,acme,"acme-a,L-2,',  # line 3
        *(f"u{i},2026-04-01T00:00:00Z,user.login,acme,acme-a,," for i in range(4, 9)),
        'u9,2026-04-01T00:00:00Z,user.login,acme,acme-a,",',  # line 9: the last one
    )
    report = run(engine, "events", write(tmp_path, "e.csv", text))
    unclosed = "malformed CSV record: unclosed quote: a quoted field opened on this line"
    assert report.rejections == [
        (
            3,
            f"{unclosed} runs on to line 9 (a line break in user_key); the lines after it are "
            "read on their own",
        ),
        (9, f"{unclosed} never closes"),
    ]
    assert set(events(engine)) == {"g1", "u4", "u5", "u6", "u7", "u8"}


def test_an_unclosed_quote_before_a_long_file(engine, world, tmp_path):
    """The parser gives up on the broken field at its size limit (128 KiB); every line after
    the broken one is still read."""
    rows = [f"l{i:05d},2026-04-01T00:00:00Z,user.login,acme,acme-a,obj-{'x' * 40},"
            for i in range(3000)]  # fmt: skip
    text = csv_text(EVENT_HEADER, 'broken,"2026-04-01T00:00:00Z,user.login,acme,acme-a,,', *rows)
    report = run(engine, "events", write(tmp_path, "e.csv", text), batch_size=500)
    assert [line for line, _ in report.rejections] == [2]
    assert counts(report) == (3001, 3000, 0, 0, 1)


def test_a_broken_quote_that_closes_far_below_is_read_again(engine, world, tmp_path):
    """A quote that another line's quote happens to close makes one record of many lines and
    too many fields: it is reported at its first line and the lines are read again."""
    text = csv_text(
        EVENT_HEADER,
        'b1,2026-04-01T00:00:00Z,user.login,acme,"acme-a,,',  # line 2
        "b2,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",  # line 3
        'b3,2026-04-01T00:00:00Z,user.login,acme,acme-a,",x",',  # line 4: closes it
    )
    report = run(engine, "events", write(tmp_path, "e.csv", text))
    assert report.rejections[0][0] == 2
    assert "unclosed quote" in report.rejections[0][1]
    assert "b2" in events(engine)


# -- 4. a key repeated in one file ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_repeated_key_is_rejected_and_the_first_row_wins(engine, world, tmp_path, fmt):
    rows: list[dict[str, str | None]] = [
        {"key": "p1", "name": "First"},  # 1
        {"key": "p2", "name": "Two"},  # 2
        {"key": "p1", "name": "Second"},  # 3
        {"key": "bad", "name": None},  # 4: rejected: not an occurrence
        {"key": "bad", "name": "Now valid"},  # 5: the first valid one
        {"key": "p1", "name": "Third"},  # 6
    ]
    if fmt == "csv":
        text = csv_text("key,name", *(f"{r['key']},{r['name'] or ''}" for r in rows))
        shift = 1
    else:
        text = jsonl_text(*rows)
        shift = 0
    path = write(tmp_path, f"p.{fmt}", text)
    report = run(engine, "partners", path)
    expected = [
        (3 + shift, f"key 'p1' already appears on line {1 + shift}"),
        (4 + shift, "missing required field 'name'"),
        (6 + shift, f"key 'p1' already appears on line {1 + shift}"),
    ]
    assert report.rejections == expected
    assert counts(report) == (6, 3, 0, 0, 3)
    assert {k: v[0] for k, v in partners(engine).items() if k not in ("acme", "globex")} == {
        "p1": "First",
        "p2": "Two",
        "bad": "Now valid",
    }
    again = run(engine, "partners", path)  # the same verdicts, nothing stored twice
    assert again.rejections == expected
    assert counts(again) == (6, 0, 3, 0, 3)
    assert count(engine, Partner) == 5  # acme and globex of the world, and these three


def test_repeated_user_and_asset_keys(engine, world, tmp_path):
    text = csv_text(USER_HEADER, "n1,acme,N1,,,,", "n1,acme,Again,,,,")
    assert run(engine, "users", write(tmp_path, "u.csv", text)).rejections == [
        (3, "key 'n1' already appears on line 2")
    ]
    assert users(engine)["n1"][1] == "N1"
    text = jsonl_text({"key": "a1", "tags": ["x"]}, {"key": "a1", "tags": ["y"]})
    assert run(engine, "assets", write(tmp_path, "a.jsonl", text)).rejections == [
        (2, "key 'a1' already appears on line 1")
    ]
    assert assets(engine)["a1"][2] == ["x"]


def test_a_repeated_event_id_is_a_duplicate_only_with_the_same_values(engine, world, tmp_path):
    text = csv_text(
        EVENT_HEADER,
        "r1,2026-04-01T09:00:00+09:00,deal.won,acme,acme-a,D-1,100",  # line 2
        "r1,2026-04-01T00:00:00Z,deal.won,acme,acme-a,D-1,100.00",  # the same instant, amount
        "r1,2026-04-01T00:00:00Z,deal.won,acme,acme-b,D-1,100",  # line 4: another user
        "r1,2026-04-02T00:00:00Z,deal.won,acme,acme-a,D-2,99",  # line 5
        "r1,2026-04-01T00:00:00Z,deal.won,acme,acme-a,D-1,",  # line 6: no amount
    )
    path = write(tmp_path, "e.csv", text)
    first = "event_id 'r1' already appears on line 2 with different values"
    expected = [
        (4, f"{first} (user_key)"),
        (5, f"{first} (occurred_at, object_key, amount)"),
        (6, f"{first} (amount)"),
    ]
    for batch_size in (5000, 1):  # within one batch, and each row a batch of its own
        with engine.begin() as conn:
            conn.execute(delete(Event))
        report = run(engine, "events", path, batch_size=batch_size)
        assert report.rejections == expected, batch_size
        assert counts(report) == (5, 1, 0, 1, 3)
        assert Decimal(str(events(engine)["r1"][5])) == 100
    # Sent again in another file, the event is stored already: the same values are a
    # duplicate, other values are rejected against the store.
    text = csv_text(
        EVENT_HEADER,
        "r1,2026-04-01T00:00:00Z,deal.won,acme,acme-a,D-1,101",
        "r1,2026-04-01T00:00:00Z,deal.won,acme,acme-a,D-1,100",
    )
    for batch_size in (5000, 1):
        report = run(engine, "events", write(tmp_path, "e2.csv", text), batch_size=batch_size)
        assert report.rejections == [
            (2, "event_id 'r1' is already stored with different values (amount)")
        ]
        assert counts(report) == (2, 0, 0, 1, 1)


# -- 5. did you mean ------------------------------------------------------------------------

TYPE_SUGGESTIONS = [
    ("deal.registerd", "did you mean 'deal.registered'?"),
    ("login", "did you mean 'user.login'?"),
    ("USER.LOGIN", "did you mean 'user.login'?"),
    ("deal_won", "did you mean 'deal.won'?"),
    ("content.download", "did you mean 'content.downloaded'?"),
    ("registered", "did you mean 'lead.registered' or 'deal.registered'?"),
]


@pytest.mark.parametrize(("type_", "suggestion"), TYPE_SUGGESTIONS)
def test_unknown_event_types_get_a_suggestion(engine, world, tmp_path, type_, suggestion):
    text = csv_text(EVENT_HEADER, f"x,2026-04-01T00:00:00Z,{type_},acme,acme-a,O-1,")
    report = run(engine, "events", write(tmp_path, "e.csv", text))
    assert report.rejections == [(2, f"unknown event type {type_!r}: {suggestion}")]


def test_a_misspelt_column_refuses_the_rows_that_have_a_value_there(engine, world, tmp_path):
    """`ammount` is not silently ignored: a row with a value there would lose it (and an
    event is never updated), so that row is rejected; a row without one is stored."""
    header = "event_id,occured_at,type,partner_key,user_key,object_key,ammount,notes"
    text = csv_text(header, "m1,2026-04-01T00:00:00Z,deal.won,acme,acme-a,D,5,x")
    with pytest.raises(ImportFileError, match=r"did you mean 'occurred_at' for 'occured_at'\?"):
        run(engine, "events", write(tmp_path, "bad.csv", text))
    header = "event_id,occurred_at,type,partner_key,user_key,object_key,ammount,notes"
    text = csv_text(
        header,
        "m1,2026-04-01T00:00:00Z,deal.won,acme,acme-a,D,5,a note",  # line 2
        "m2,2026-04-01T00:00:00Z,deal.won,acme,acme-a,D,,a note",  # line 3: nothing lost
    )
    report = run(engine, "events", write(tmp_path, "e.csv", text))
    assert report.rejections == [(2, "unknown column 'ammount': did you mean 'amount'?")]
    assert set(events(engine)) == {"m2"}


def test_cli_misspelt_required_column_suggests_the_name(cli, engine, tmp_path):
    path = write(tmp_path, "partners.csv", csv_text("Key,nmae,tier", "acme,Acme,gold"))
    result = cli("import", "partners", str(path))
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        "(found: Key, nmae, tier); did you mean 'key' for 'Key'?; did you mean 'name' for 'nmae'?"
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_misspelt_json_keys_get_a_suggestion(engine, world, tmp_path):
    text = jsonl_text(
        login("k1", ammount="5"),  # line 1
        login("k2", ammount=None),  # line 2: nothing lost
        login("k3", source="crm"),  # line 3: an unrelated key is ignored
        {**login("k4"), "usr_key": "acme-a", "user_key": None},  # line 4
    )
    report = run(engine, "events", write(tmp_path, "e.jsonl", text))
    assert report.rejections == [
        (1, "unknown field 'ammount': did you mean 'amount'?"),
        (4, "missing required field 'user_key'"),  # user_key is there (null): no guess
    ]
    text = jsonl_text({"event_id": "k5", "ocurred_at": "2026-04-01T00:00:00Z"})
    report = run(engine, "events", write(tmp_path, "e2.jsonl", text))
    assert report.rejections == [(1, "unknown field 'ocurred_at': did you mean 'occurred_at'?")]
    assert set(events(engine)) == {"k2", "k3"}


# -- 6. amounts ------------------------------------------------------------------------------

AMOUNTS_REJECTED = [
    ("1,000,000", "bad amount '1,000,000' (not a number: write it as 1000000, without "
     "thousands separators or a currency)"),
    ("¥1,200", "bad amount '¥1,200' (not a number: write it as 1200, without thousands "
     "separators or a currency)"),
    ("1000 JPY", "bad amount '1000 JPY' (not a number: write it as 1000, without thousands "
     "separators or a currency)"),
    ("12,5", "bad amount '12,5' (not a number: write it as 12.5, without thousands separators "
     "or a currency)"),
    ("1.234.567,89", "bad amount '1.234.567,89' (not a number: write it as 1234567.89, "
     "without thousands separators or a currency)"),
    ("ten", "bad amount 'ten' (not a number)"),
    ("-5", "bad amount '-5' (negative: an amount is zero or more)"),
    ("1e-30", "bad amount '1e-30' (more than 4 decimal places: amounts are stored to "
     "1/10,000)"),
    ("0.12345", "bad amount '0.12345' (more than 4 decimal places: amounts are stored to "
     "1/10,000)"),
    ("NaN", "bad amount 'NaN' (not a number)"),
    ("Infinity", "bad amount 'Infinity' (not a finite number)"),
    ("-inf", "bad amount '-inf' (not a finite number)"),
    ("1e16", "bad amount '1e16' (out of range: at most 16 digits before the decimal point)"),
    ("1e999999999999", "bad amount '1e999999999999' (out of range: at most 16 digits before "
     "the decimal point)"),
]  # fmt: skip
AMOUNTS_STORED = [
    ("1000000", Decimal(1000000)),
    ("0", Decimal(0)),
    ("-0", Decimal(0)),
    ("1.50000", Decimal("1.5")),  # more places, but only zeros: held exactly
    ("0.0001", Decimal("0.0001")),
    ("1e3", Decimal(1000)),
    ("9999999999999999.9999", Decimal("9999999999999999.9999")),
]


def test_amounts(engine, world, tmp_path):
    rows = [
        f'a{i},2026-04-01T00:00:00Z,deal.won,acme,acme-a,D,"{text}"'
        for i, (text, _) in enumerate([*AMOUNTS_REJECTED, *AMOUNTS_STORED])
    ]
    report = run(engine, "events", write(tmp_path, "e.csv", csv_text(EVENT_HEADER, *rows)))
    assert report.rejections == [(i + 2, reason) for i, (_, reason) in enumerate(AMOUNTS_REJECTED)]
    stored = events(engine)
    for i, (_, value) in enumerate(AMOUNTS_STORED, start=len(AMOUNTS_REJECTED)):
        got = Decimal(str(stored[f"a{i}"][5]))
        if engine.dialect.name == "sqlite" and value > 10**12:
            assert float(got) == float(value)  # SQLite keeps Numeric as a double
        else:
            assert got == value, (i, got)
    # JSON numbers: the same rules
    text = jsonl_text(
        login("j1", type="deal.won", object_key="D", amount=1e-30),
        login("j2", type="deal.won", object_key="D", amount=-1),
        login("j3", type="deal.won", object_key="D", amount=1200.25),
    )
    report = run(engine, "events", write(tmp_path, "e.jsonl", text))
    assert [line for line, _ in report.rejections] == [1, 2]
    assert Decimal(str(events(engine)["j3"][5])) == Decimal("1200.25")


# -- 7. the future --------------------------------------------------------------------------


def test_events_more_than_a_day_in_the_future_are_rejected(engine, world, tmp_path):
    text = csv_text(
        EVENT_HEADER,
        "f1,2026-11-02T00:00:00Z,user.login,acme,acme-a,,",  # exactly a day after NOW: fine
        "f2,2026-11-02T00:00:01Z,user.login,acme,acme-a,,",  # line 3
        "f3,2026-11-02T08:59:59+09:00,user.login,acme,acme-a,,",  # 23:59:59Z on the 1st
        "f4,2099-01-01T00:00:00Z,user.login,acme,acme-a,,",  # line 5
    )
    path = write(tmp_path, "e.csv", text)
    report = run(engine, "events", path)
    future = "is more than a day in the future (now: 2026-11-01T00:00:00Z)"
    assert report.rejections == [
        (3, f"occurred_at: '2026-11-02T00:00:01Z' {future}"),
        (5, f"occurred_at: '2099-01-01T00:00:00Z' {future}"),
    ]
    assert set(events(engine)) == {"f1", "f3"}
    # Later, the same rows are no longer in the future.
    later = run(engine, "events", path, now=datetime(2100, 1, 1, tzinfo=UTC))
    assert counts(later) == (4, 2, 0, 2, 0)


def test_the_cli_and_the_api_measure_the_future_from_the_clock(
    cli, engine, world, tmp_path, monkeypatch
):
    monkeypatch.setattr(bot.cli.import_cmd, "wall_clock", lambda: datetime(2026, 4, 1, tzinfo=UTC))
    text = csv_text(
        EVENT_HEADER,
        "c1,2026-04-01T12:00:00Z,user.login,acme,acme-a,,",
        "c2,2026-04-03T00:00:00Z,user.login,acme,acme-a,,",  # line 3
    )
    result = cli("import", "events", str(write(tmp_path, "events.csv", text)))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "line 3: occurred_at: '2026-04-03T00:00:00Z' is more than a day in the future "
        "(now: 2026-04-01T00:00:00Z)"
    )
    outcomes = import_objects(
        engine,
        "events",
        [login("c3", "2026-04-03T00:00:00Z")],
        UTC_ZONE,
        now=datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert outcomes[0].status == "rejected"
    assert "more than a day in the future" in (outcomes[0].reason or "")
    assert set(events(engine)) == {"c1"}


# -- 8. Slack ids -------------------------------------------------------------------------

MEMBER_HINT = "(expected U or W, then capital letters or digits, e.g. U0MGR001)"
SLACK_IDS_REJECTED = [
    ("u0mgr001", f"not a Slack member id: 'u0mgr001' — Slack ids are upper case: 'U0MGR001' "
     f"{MEMBER_HINT}"),
    ("@alice", f"not a Slack member id: '@alice' — a display name, not a member id {MEMBER_HINT}"),
    ("alice@acme.example", "not a Slack member id: 'alice@acme.example' — an email address, "
     f"not a member id {MEMBER_HINT}"),
    ("C0PARTNER001", "not a Slack member id: 'C0PARTNER001' — a channel or conversation id, "
     f"not a member id {MEMBER_HINT}"),
    ("U0MGR 001", f"not a Slack member id: 'U0MGR 001' {MEMBER_HINT}"),
    ("U", f"not a Slack member id: 'U' {MEMBER_HINT}"),
    ("U" + "A" * 32, f"not a Slack member id: {'U' + 'A' * 32!r} {MEMBER_HINT}"),
]  # fmt: skip
SLACK_IDS_ACCEPTED = ["U0MGR001", "W012ABC", "U1000001001", "U024BE7LH", "UMGR1"]


@pytest.mark.parametrize("column", ["manager_slack_id", "cs_slack_id"])
def test_partner_slack_ids(engine, tmp_path, column):
    rows = [*SLACK_IDS_ACCEPTED, *(value for value, _ in SLACK_IDS_REJECTED)]
    text = csv_text(f"key,name,{column}", *(f"p{i},P,{v}" for i, v in enumerate(rows)))
    report = run(engine, "partners", write(tmp_path, "p.csv", text))
    first_bad = len(SLACK_IDS_ACCEPTED) + 2
    assert report.rejections == [
        (first_bad + i, f"{column}: {reason}") for i, (_, reason) in enumerate(SLACK_IDS_REJECTED)
    ]
    with engine.connect() as conn:
        stored = set(conn.execute(select(getattr(Partner, column))).scalars())
    assert stored == set(SLACK_IDS_ACCEPTED)


def test_user_slack_ids(engine, world, tmp_path):
    text = jsonl_text(
        {"key": "s1", "partner_key": "acme", "slack_user_id": "U0REP001"},
        {"key": "s2", "partner_key": "acme", "slack_user_id": "u0rep002"},
        {"key": "s3", "partner_key": "acme", "slack_user_id": None},
    )
    report = run(engine, "users", write(tmp_path, "u.jsonl", text))
    assert report.rejections == [
        (2, f"slack_user_id: not a Slack member id: 'u0rep002' — Slack ids are upper case: "
         f"'U0REP002' {MEMBER_HINT}")
    ]  # fmt: skip
    assert users(engine)["s1"][3] == "U0REP001"


# -- 9. NUL and other control characters ------------------------------------------------------


def test_control_characters_never_reach_the_database(engine, world, tmp_path):
    nul = "a NUL character (\\x00) at character {}, which the database cannot store"
    text = csv_text(
        EVENT_HEADER,
        "n1,2026-04-01T00:00:00Z,lead.registered,acme,acme-a,L\x00,",  # line 2
        "n2\x00,2026-04-01T00:00:00Z,user.login,acme,acme-a,,",  # line 3
        "n3,2026-04-01T00:00:00Z,user.login,acme,acme-a\x1b,,",  # line 4
        "n4,2026-04-01T00:00:00Z,lead.registered,acme,acme-a,L\x07,",  # line 5
        'n5,2026-04-01T00:00:00Z,lead.registered,acme,acme-a,"tab\tok",',  # a free-text field
    )
    report = run(engine, "events", write(tmp_path, "e.csv", text))
    assert report.rejections == [
        (2, "field 'object_key' contains " + nul.format(2)),
        (3, "field 'event_id' contains " + nul.format(3)),
        (4, "field 'user_key' contains a control character ('\\x1b') at character 7"),
        (5, "field 'object_key' contains a control character ('\\x07') at character 2"),
    ]
    text = jsonl_text(
        {"key": "j1", "name": "a\u0000b"},
        {"key": "j2\n", "name": "J2"},  # stripped: the line break at the end goes
        {"key": "j\t3", "name": "J3"},
        {"key": "j4", "name": "J4", "tier": "gold\nplus"},
    )
    text += '{"key": "j5", "name": "lone \\ud800 surrogate"}\n'
    report = run(engine, "partners", write(tmp_path, "p.jsonl", text))
    assert report.rejections == [
        (1, "field 'name' contains " + nul.format(2)),
        (3, "field 'key' contains a tab at character 2"),
        (4, "field 'tier' contains a line break at character 5"),
        (5, "field 'name' contains an invalid character (a lone surrogate, '\\ud800') at "
         "character 6"),
    ]  # fmt: skip
    with engine.connect() as conn:
        texts = [
            *conn.execute(select(col(Event.event_id), col(Event.object_key), col(Partner.key),
                                 col(Partner.name))
                          .join(Partner, col(Partner.id) == col(Event.partner_id))).all(),
            *conn.execute(select(col(Partner.key), col(Partner.name), col(Partner.tier))).all(),
        ]  # fmt: skip
    assert not any("\x00" in (v or "") for row in texts for v in row)
    assert events(engine)["n5"][4] == "tab\tok"
    assert "j2" in partners(engine)


# -- 10. rejections come in line order ---------------------------------------------------------


def test_rejections_are_reported_in_line_order(cli, engine, world, tmp_path):
    """A repeated event_id is found when its batch is written, after the validator has seen
    later rows; the report is still in line order."""
    rows = []
    for i in range(12):
        rows.append(f"o{i},2026-04-01T00:00:00Z,user.login,acme,acme-a,,")
        rows.append(f"o{i},2026-04-02T00:00:00Z,user.login,acme,acme-a,,")  # different
        rows.append(f"x{i},2026-04-01T00:00:00Z,user.login,acme,nobody,,")
    path = write(tmp_path, "events.csv", csv_text(EVENT_HEADER, *rows))
    result = cli("import", "events", str(path), env={"PRM_IMPORT_BATCH_SIZE": "4"})
    assert result.exit_code == 1
    lines = [int(line.split(":")[0][5:]) for line in result.stdout.splitlines()[:-1]]
    assert lines == sorted(lines)
    assert len(lines) == 24
    assert result.stdout.splitlines()[0] == (
        "line 3: event_id 'o0' already appears on line 2 with different values (occurred_at)"
    )


# -- the hostile files ----------------------------------------------------------------------

NUL_REASON = "contains a NUL character"


def hostile_events_csv() -> tuple[bytes, dict[int, str], set[str]]:
    """(the file, line -> a piece of its reason, the event ids stored)."""
    good = "2026-04-01T00:00:00Z"
    entries: list[tuple[bytes | str, str | None]] = [
        (f"h01,{good},user.login,acme,acme-a,,", None),
        (f"h02,{good},deal.registered,acme,acme-a,D-2,1200.50", None),
        (f'h03,{good},lead.registered,acme,acme-a,"L-3\nstill L-3",', None),  # two lines
        ("h04,2026-04-01T09:00:00+09:00,deal.won,acme,acme-a,D-2,", None),
        (f"h01,{good},user.login,acme,acme-a,,", None),  # the same values: a duplicate
        ("b01,9999-12-31T23:00:00-14:00,user.login,acme,acme-a,,", "out of range"),
        ("b02,0001-01-01T00:00:00+01:00,user.login,acme,acme-a,,", "out of range"),
        (f"b03,{good},lead.registered,acme,acme-a,".encode() + "見込み".encode("cp932") + b",",
         "not valid UTF-8; it looks like Shift-JIS"),
        (f'b04,{good},lead.registered,acme,acme-a,"unclosed,', "unclosed quote"),
        (f"h05,{good},user.login,acme,acme-b,,", None),  # read again after the broken quote
        (f"h02,{good},deal.registered,acme,acme-a,D-2,99", "already appears on line 3"),
        (f"b05,{good},deal.registerd,acme,acme-a,D-5,", "did you mean 'deal.registered'?"),
        (f"b06,{good},login,acme,acme-a,,", "did you mean 'user.login'?"),
        (f'b07,{good},deal.won,acme,acme-a,D-7,"1,000,000"', "write it as 1000000"),
        (f"b08,{good},deal.won,acme,acme-a,D-8,-5", "negative"),
        (f"b09,{good},deal.won,acme,acme-a,D-9,1e-30", "more than 4 decimal places"),
        (f"b10,{good},deal.won,acme,acme-a,D-10,0.12345", "more than 4 decimal places"),
        (f"b11,{good},deal.won,acme,acme-a,D-11,NaN", "not a number"),
        ("b12,2099-01-01T00:00:00Z,user.login,acme,acme-a,,", "more than a day in the future"),
        (f"b13,{good},lead.registered,acme,acme-a,L\x00,", NUL_REASON),
        (f"b14,{good},user.login,acme,acme-a\x1b,,", "a control character"),
        (f"b15,{good},user.login,acme2,acme-a,,", "unknown partner 'acme2'"),
        ("b16,2026-04-01T09:00:00,user.login,acme,acme-a,,", "time without offset"),
        (f"b17,{good},user.login,acme,acme-a,,,extra", "8 fields, but the header has 7"),
        (f"b18,{good},content.downloaded,acme,acme-a,deck-x,", "unknown asset"),
        ("", None),  # a blank line: skipped
        (f"h06,{good},content.downloaded,acme,acme-b,deck,", None),
    ]  # fmt: skip
    return _assemble(EVENT_HEADER, entries), _expected(entries, 2), {
        "h01", "h02", "h03", "h04", "h05", "h06",
    }  # fmt: skip


def _assemble(header: str, entries: list[tuple[bytes | str, str | None]]) -> bytes:
    lines = [header.encode()] + [e if isinstance(e, bytes) else e.encode() for e, _ in entries]
    return b"\n".join(lines) + b"\n"


def _expected(entries: list[tuple[bytes | str, str | None]], first: int) -> dict[int, str]:
    expected: dict[int, str] = {}
    line = first
    for text, reason in entries:
        if reason is not None:
            expected[line] = reason
        line += (text.count(b"\n") if isinstance(text, bytes) else text.count("\n")) + 1
    return expected


def hostile_events_jsonl() -> tuple[bytes, dict[int, str], set[str]]:
    good = "2026-04-01T00:00:00Z"
    ok = json.dumps

    def ev(event_id: str, **fields) -> str:
        return ok({**login(event_id, good), **fields})

    entries: list[tuple[bytes | str, str | None]] = [
        (ev("h01"), None),
        (ev("h02", type="deal.registered", object_key="D-2", amount=1200.5), None),
        (ev("h03", type="lead.registered", object_key="L-3\nstill L-3"), None),
        (ev("h01"), None),  # a duplicate
        (ev("b01", occurred_at="9999-12-31T23:00:00-14:00"), "out of range"),
        (ev("b02", occurred_at="0001-01-01T00:00:00+01:00"), "out of range"),
        (ev("b03", type="lead.registered").encode()[:-1] + b', "object_key": "'
         + "見込み".encode("cp932") + b'"}', "not valid UTF-8; it looks like Shift-JIS"),
        ('{"event_id": "b04", "occurred_at": ', "invalid JSON line"),
        ("[1, 2]", "expected an object, got an array"),
        ("[" * 100_000, "invalid JSON line"),
        (ev("h02", type="deal.registered", object_key="D-2", amount=99),
         "already appears on line 2"),
        (ev("b05", type="deal.registerd", object_key="D"), "did you mean 'deal.registered'?"),
        (ev("b06", type="login"), "did you mean 'user.login'?"),
        (ev("b07", type="deal.won", object_key="D", ammount=5), "did you mean 'amount'?"),
        (ev("b08", type="deal.won", object_key="D", amount="1,000,000"), "write it as 1000000"),
        (ev("b09", type="deal.won", object_key="D", amount=-5), "negative"),
        (ev("b10", type="deal.won", object_key="D", amount=1e-30), "more than 4 decimal"),
        (ev("b11", type="deal.won", object_key="D").replace("}", ', "amount": 1e400}'),
         "not a finite number"),
        (ev("b12", occurred_at="2099-01-01T00:00:00Z"), "more than a day in the future"),
        (ev("b13", user_key="acme-a\u0000"), NUL_REASON),
        (ev("b14", type="lead.registered", object_key="\ud800"), "lone surrogate"),
        (ev("b15", partner_key={"key": "acme"}), "must be a string, not an object"),
        (ev("b16", user_key="acme-b", partner_key="globex"), "belongs to partner 'acme'"),
        (ev("h04", user_key="acme-b"), None),
    ]  # fmt: skip
    body = b"\n".join(e if isinstance(e, bytes) else e.encode() for e, _ in entries) + b"\n"
    return body, _expected(entries, 1), {"h01", "h02", "h03", "h04"}


def hostile_partners_csv() -> tuple[bytes, dict[int, str], set[str]]:
    header = "key,name,signed_at,teir,manager_slack_id,cs_slack_id,slack_channel_id,notes"
    entries: list[tuple[bytes | str, str | None]] = [
        ("p01,Acme,2026-01-01,,U0MGR001,U0CS0001,C0ACME,a note", None),
        ('p02,"Globex\nJapan",2026-01-01T09:00:00+09:00,,W012ABC,,,', None),
        ("p03,Initech,,,,,G0PRIVATE,", None),
        ("p01,Acme again,,,,,,", "key 'p01' already appears on line 2"),
        ("b01,Gold,,gold,,,,", "unknown column 'teir': did you mean 'tier'?"),
        ("b02,Lower,,,u0mgr001,,,", "Slack ids are upper case: 'U0MGR001'"),
        ("b03,Mail,,,,cs@acme.example,,", "an email address, not a member id"),
        ("b04,Chan,,,,,#acme,", "a channel name, not its id"),
        ("b05,DM,,,,,D024BE91L,", "is a direct-message id"),
        ("b06,Old,0001-01-01,,,,,", "out of range"),
        ("b07,Far,9999-12-31T23:00:00-14:00,,,,,", "out of range"),
        ("b08,N\x00ul,,,,,,", NUL_REASON),
        ('b09,"Unclosed,,,,,,,', "unclosed quote"),
        ("p04,Hooli,2026-03-01,,,,,", None),
        (b"b10," + "株式会社".encode("cp932") + b",,,,,,", "it looks like Shift-JIS"),
        (",No key,,,,,,", "missing required field 'key'"),
        ("p05,Umbrella,,,U024BE7LH,,,", None),
    ]  # fmt: skip
    return _assemble(header, entries), _expected(entries, 2), {"p01", "p02", "p03", "p04", "p05"}


def hostile_partners_jsonl() -> tuple[bytes, dict[int, str], set[str]]:
    ok = json.dumps
    entries: list[tuple[bytes | str, str | None]] = [
        (ok({"key": "p01", "name": "Acme", "manager_slack_id": "U0MGR001"}), None),
        (ok({"key": "p02", "name": "Globex", "slack_channel_id": "C0GLOBEX"}), None),
        (ok({"key": "p01", "name": "Again"}), "key 'p01' already appears on line 1"),
        (ok({"key": "b01", "name": "T", "teir": "gold"}), "did you mean 'tier'?"),
        (ok({"key": "b02", "name": "L", "cs_slack_id": "u0cs0001"}), "upper case"),
        (ok({"key": "b03", "name": "C", "slack_channel_id": "c0abc"}), "not a Slack channel id"),
        (ok({"key": "b04", "name": "O", "signed_at": "0001-01-01T00:00:00+01:00"}), "out of range"),
        (ok({"key": "b05", "name": "N\u0000"}), NUL_REASON),
        (ok({"key": "b06", "name": True}), "must be a string, not true"),
        (ok({"key": "b07"}), "missing required field 'name'"),
        ("not json", "invalid JSON line"),
        (ok({"key": "p03", "name": "Initech", "signed_at": "2026-02-01"}), None),
    ]  # fmt: skip
    body = b"\n".join(e.encode() for e, _ in entries) + b"\n"  # type: ignore[union-attr]
    return body, _expected(entries, 1), {"p01", "p02", "p03"}


def hostile_users_csv() -> tuple[bytes, dict[int, str], set[str]]:
    entries: list[tuple[bytes | str, str | None]] = [
        ("n01,acme,Ann,ann@acme.example,U0REP001,2026-01-01,ja", None),
        ("n02,acme,Bob,,,2026-01-01T09:00:00+09:00,en", None),
        ("n01,acme,Ann again,,,,", "key 'n01' already appears on line 2"),
        ("b01,acme,Lower,,u0rep002,,", "upper case"),
        ("b02,acme2,Lost,,,,", "unknown partner 'acme2'"),
        ("acme-a,globex,Moved,,,,", "belongs to partner 'acme'"),
        ("b03,acme,Old,,,0001-01-01,", "out of range"),
        ("b04,acme,N\x00,,,,", NUL_REASON),
        ('b05,acme,"unclosed,,,,', "unclosed quote"),
        ("n03,acme,Cy,,W0REP003,,", None),
    ]
    return _assemble(USER_HEADER, entries), _expected(entries, 2), {"n01", "n02", "n03"}


def hostile_assets_jsonl() -> tuple[bytes, dict[int, str], set[str]]:
    ok = json.dumps
    entries: list[tuple[bytes | str, str | None]] = [
        (ok({"key": "s01", "title": "Deck", "tags": ["onboarding"]}), None),
        (ok({"key": "s01", "title": "Again"}), "key 's01' already appears on line 1"),
        (ok({"key": "b01", "tags": ["a", 1]}), "must be a list of strings"),
        (ok({"key": "b02", "titel": "Typo"}), "did you mean 'title'?"),
        (ok({"key": "b03", "title": "T\u0000"}), NUL_REASON),
        (ok({"key": "b04", "tags": ["t" * 100]}), "too long"),
        (ok({"key": "s02", "title": "Guide", "tags": "onboarding; basics"}), None),
    ]
    body = b"\n".join(e.encode() for e, _ in entries) + b"\n"  # type: ignore[union-attr]
    return body, _expected(entries, 1), {"s01", "s02"}


HOSTILE = {
    "events.csv": ("events", hostile_events_csv),
    "events.jsonl": ("events", hostile_events_jsonl),
    "partners.csv": ("partners", hostile_partners_csv),
    "partners.jsonl": ("partners", hostile_partners_jsonl),
    "users.csv": ("users", hostile_users_csv),
    "assets.jsonl": ("assets", hostile_assets_jsonl),
}
STORED = {
    "events": lambda conn: conn.execute(select(col(Event.event_id))).scalars(),
    "partners": lambda conn: conn.execute(select(col(Partner.key))).scalars(),
    "users": lambda conn: conn.execute(select(col(PartnerUser.key))).scalars(),
    "assets": lambda conn: conn.execute(select(col(Asset.key))).scalars(),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_file_gets_every_bad_row_named_and_the_good_rows_stored_once(
    cli, engine: Engine, tmp_path: Path, monkeypatch, name: str
):
    Store(engine).partner("acme").user("acme-a", "acme").user("acme-b", "acme").partner(
        "globex"
    ).asset("deck", "onboarding")
    monkeypatch.setattr(bot.cli.import_cmd, "wall_clock", lambda: NOW)
    kind, build = HOSTILE[name]
    body, expected, good = build()
    path = tmp_path / name
    path.write_bytes(body)
    with engine.connect() as conn:
        before = set(STORED[kind](conn))

    for attempt in ("first", "again"):
        result = cli("import", kind, str(path))
        output = result.stdout + result.stderr
        assert "Traceback" not in output, output
        assert result.exit_code == 1, output
        *rejections, summary = result.stdout.splitlines()
        named = {}
        for line in rejections:
            number, reason = line.split(": ", 1)
            assert number.startswith("line "), line
            named[int(number[5:])] = reason
        assert sorted(named) == sorted(expected), (attempt, named)
        for number, piece in expected.items():
            assert piece in named[number], (attempt, number, named[number])
        assert len(rejections) == len(named)  # each bad line once
        assert f"rejected {len(expected)}" in summary
        with engine.connect() as conn:
            stored = list(STORED[kind](conn))
        assert len(stored) == len(set(stored))
        assert set(stored) - before == good - before, attempt
        if attempt == "first":
            first_count = len(stored)
            assert "inserted 0," not in summary
        else:
            assert len(stored) == first_count  # nothing stored twice
            assert "inserted 0," in summary
    if kind == "events":
        stored_events = events(engine)
        assert stored_events["h01"][0] == utc(2026, 4, 1)
        assert Decimal(str(stored_events["h02"][5])) == Decimal("1200.5")  # the first h02
        assert stored_events["h03"][4] == "L-3\nstill L-3"
