"""Turn one row's fields into a record ready to store, or refuse it with a reason.

Validation is plain Python against lookups loaded once per import (partner key -> id, user
key -> (id, partner id), asset keys), so a million-row file costs no per-row queries. Every
check the database would make (widths, references, the amount's precision) is made here
first, so a batch never fails half-way on one bad row.

Reason texts (shown as `line N: <reason>`; docs/import.md lists every rule):

- `missing required field 'partner_key'`
- `unknown partner 'acme2'`, `unknown user 'u9'`, `unknown asset 'deck-x'`
- `user 'acme-a' belongs to partner 'globex', not 'acme'`
- `unknown event type 'deal.registerd': did you mean 'deal.registered'?`
- `occurred_at: time without offset: '2026-04-01T09:30:00'`
- `occurred_at: unparseable time: 'yesterday'` (also `unparseable date` for a bad plain date)
- `occurred_at: out of range: '9999-12-31T23:00:00-14:00' (use a time in the years 1900 to
  2999)`
- `occurred_at: '2099-01-01T00:00:00Z' is more than a day in the future (now: …)`
- `bad amount 'ten' (not a number)`, `bad amount '1,000,000' (not a number: write it as
  1000000 …)`, `bad amount '-5' (negative …)`, `bad amount '0.00001' (more than 4 decimal
  places …)`, `bad amount '1e30' (out of range …)`
- `field 'tier' too long (72 characters, at most 64)`, `tag 'x…' too long (…)`
- `field 'name' contains a NUL character (\\x00) at character 3 …`, `field 'key' contains a
  line break …`
- `manager_slack_id: not a Slack member id: 'u0mgr001' — Slack ids are upper case:
  'U0MGR001' (expected U or W, then capital letters or digits, e.g. U0MGR001)`
- `slack_channel_id: not a Slack channel id: 'c0abc' (expected C or G, then 2 to 31 capital
  letters or digits)`, `slack_channel_id: 'D024BE91L' is a direct-message id, not a channel
  (expected C… or G…)`

The reader adds its own: `invalid JSON line: …`, `malformed CSV record: …` (an unclosed
quote among them), `not valid UTF-8; it looks like Shift-JIS: try --encoding cp932`, `N
fields, but the header has M`, `field 'x' must be a string, not an object`, `unknown column
'ammount': did you mean 'amount'?`; the run loop and the writers add the repeated keys
(`key 'acme' already appears on line 2`, `event_id 'e1' already appears on line 2 with
different values (amount)`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from bot.core import events
from bot.core.events import EVENT_TYPES, NO_OBJECT_TYPES
from bot.core.timeutil import PLAIN_DATE, TimeParseError, parse_date, parse_instant
from bot.store import handles
from bot.store.importer.errors import RowRejected
from bot.store.importer.hints import alternatives, suggest_event_type
from bot.store.importer.kinds import (
    AMOUNT_LIMIT,
    AMOUNT_LIMIT_DIGITS,
    AMOUNT_SCALE,
    ASSET_WIDTHS,
    ASSETS,
    EVENT_WIDTHS,
    EVENTS,
    PARTNER_WIDTHS,
    PARTNERS,
    TAG_WIDTH,
    USER_WIDTHS,
    USERS,
)
from bot.store.importer.readers import Fields

Record = dict[str, Any]
Validator = Callable[[Fields], Record]

_EVENT_TYPES = frozenset(EVENT_TYPES)
_NO_OBJECT_TYPES = NO_OBJECT_TYPES

# A Slack conversation id: a type letter, then capitals and digits, 32 characters at most
# (the column's width). A partner's shared channel is a public (C…) or private (G…) channel;
# a D… id is a direct message with one person, so it is refused with its own reason.
SLACK_CONVERSATION_ID = re.compile(r"[CGD][A-Z0-9]{2,31}")
_CHANNEL_PREFIXES = ("C", "G")
# A Slack member id: U (or W, Enterprise Grid), then capitals and digits, 32 characters at
# most (the column's width). Real ones are nine or more characters; shorter ones are
# accepted so that hand-made test data (`UMGR1`) keeps importing.
SLACK_MEMBER_ID = re.compile(r"[UW][A-Z0-9]{1,31}")
_SHOWN_CHARS = 40  # a longer rejected value is cut short in the reason

# Characters no imported text may hold: C0 controls but tab, line feed and carriage return
# (PostgreSQL cannot store NUL at all), and lone surrogates (not encodable as UTF-8; JSON's
# "\\ud800" makes one). Tab and line breaks are allowed only in free-text fields
# (`KindSpec.free_text`).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_BREAK = re.compile("[\t\n\r]")
FUTURE_SLACK = timedelta(days=1)  # events may be dated up to a day ahead (clock skew, zones)


@dataclass
class Lookups:
    """What rows refer to, read once at the start of an import."""

    partner_ids: dict[str, int] = field(default_factory=dict)
    partner_keys: dict[int, str] = field(default_factory=dict)
    users: dict[str, tuple[int, int]] = field(default_factory=dict)
    asset_keys: set[str] = field(default_factory=set)


def load_lookups(conn: Connection, kind: str) -> Lookups:
    """Only what `kind` needs: users need partners; events need partners, users and assets."""
    found = Lookups()
    if kind in ("users", "events"):
        partners = handles.partners.c
        for id_, key in conn.execute(select(partners.id, partners.key)):
            found.partner_ids[key] = id_
            found.partner_keys[id_] = key
    if kind in ("users", "events"):
        for key, id_, partner_id in conn.execute(
            select(handles.reps.c.key, handles.reps.c.id, handles.reps.c.partner_id)
        ):
            found.users[key] = (id_, partner_id)
    if kind == "events":
        found.asset_keys.update(conn.execute(select(handles.assets.c.key)).scalars())
    return found


def text_problem(value: str, *, breaks_allowed: bool) -> str | None:
    """Why `value` cannot be stored as text (`a NUL character …`), or None."""
    found = _CONTROL.search(value)
    if found is None and not breaks_allowed:
        found = _BREAK.search(value)
    if found is None:
        return None
    char, at = found.group(), found.start() + 1
    if char == "\x00":
        return f"a NUL character (\\x00) at character {at}, which the database cannot store"
    if "\ud800" <= char <= "\udfff":
        return f"an invalid character (a lone surrogate, {char!r}) at character {at}"
    if char in "\n\r":
        return f"a line break at character {at}"
    if char == "\t":
        return f"a tab at character {at}"
    return f"a control character ({char!r}) at character {at}"


def check_texts(fields: Fields, free_text: frozenset[str]) -> None:
    """`RowRejected` for the first field holding a character it cannot hold."""
    for name, value in fields.items():
        if value is not None and not value.isprintable():  # fast: most values are printable
            problem = text_problem(value, breaks_allowed=name in free_text)
            if problem is not None:
                raise RowRejected(f"field {name!r} contains {problem}")


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "…"


class Repeats:
    """Keys of partners, users or assets met earlier in one file or request: the first row
    with a key is the one stored, a later one is rejected (`key 'acme' already appears on
    line 2`) instead of silently replacing it. Events are the writer's business (a repeat
    with the same values is a plain duplicate; see `load.EventWriter`).

    Holds one entry per key, like the lookups: bounded by the number of entities.
    """

    def __init__(self, kind: str, where: Callable[[int], str]) -> None:
        self.where = where
        self.seen: dict[str, int] | None = None if kind == "events" else {}

    def check(self, position: int, record: Record) -> None:
        seen = self.seen
        if seen is None:
            return
        key = record["key"]
        first = seen.setdefault(key, position)
        if first != position:
            raise RowRejected(f"key {key!r} already appears {self.where(first)}")


def _required(fields: Fields, name: str, widths: dict[str, int]) -> str:
    value = fields.get(name)
    if value is None:
        raise RowRejected(f"missing required field {name!r}")
    _check_width(name, value, widths)
    return value


def _check_width(name: str, value: str, widths: dict[str, int]) -> None:
    limit = widths.get(name)
    if limit is not None and len(value) > limit:
        raise RowRejected(f"field {name!r} too long ({len(value)} characters, at most {limit})")


def _instant(name: str, value: str | None, tz: ZoneInfo, *, allow_date: bool) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value, tz, allow_date=allow_date)
    except TimeParseError as exc:
        raise RowRejected(f"{name}: {exc}") from None


def _set_instant_or_date(
    record: Record, fields: Fields, name: str, date_name: str, tz: ZoneInfo
) -> None:
    """`signed_at`/`registered_at`: an instant goes to `name`, a plain date to `date_name`.

    A plain date means midnight in the zone a report is read in, so it stays a date; the
    other column is cleared, so re-importing a row can switch between the two.
    """
    if name not in fields:
        return
    value = fields[name]
    record[name] = record[date_name] = None
    if value is None:
        return
    if PLAIN_DATE.match(value.strip()):
        try:
            record[date_name] = parse_date(value)
        except TimeParseError as exc:
            raise RowRejected(f"{name}: {exc}") from None
    else:
        record[name] = _instant(name, value, tz, allow_date=False)


def _optional_texts(
    fields: Fields, names: tuple[str, ...], widths: dict[str, int], record: Record
) -> None:
    """Copy the optional text columns the row carries; absent columns stay absent."""
    for name in names:
        if name in fields:
            value = fields[name]
            if value is not None:
                _check_width(name, value, widths)
            record[name] = value


def slack_member_id(name: str, value: str) -> str:
    """`value` if it is a Slack member id (`U…`, `W…`), else `RowRejected` saying why."""
    if SLACK_MEMBER_ID.fullmatch(value):
        return value
    if SLACK_MEMBER_ID.fullmatch(value.upper()):
        hint = f" — Slack ids are upper case: {value.upper()!r}"
    elif value.startswith("@"):
        hint = " — a display name, not a member id"
    elif "@" in value:
        hint = " — an email address, not a member id"
    elif SLACK_CONVERSATION_ID.fullmatch(value):
        hint = " — a channel or conversation id, not a member id"
    else:
        hint = ""
    raise RowRejected(
        f"{name}: not a Slack member id: {_shown(value)!r}{hint} "
        "(expected U or W, then capital letters or digits, e.g. U0MGR001)"
    )


def _member_ids(fields: Fields, names: tuple[str, ...], record: Record) -> None:
    for name in names:
        if name in fields:
            value = fields[name]
            record[name] = None if value is None else slack_member_id(name, value)


def slack_channel_id(value: str) -> str:
    """`value` if it is a Slack channel id (`C…` or `G…`), else `RowRejected` saying why."""
    if not SLACK_CONVERSATION_ID.fullmatch(value):
        shown = _shown(value)
        hint = " — a channel name, not its id" if value.startswith("#") else ""
        raise RowRejected(
            f"slack_channel_id: not a Slack channel id: {shown!r}{hint} "
            "(expected C or G, then 2 to 31 capital letters or digits)"
        )
    if not value.startswith(_CHANNEL_PREFIXES):
        raise RowRejected(
            f"slack_channel_id: {value!r} is a direct-message id, not a channel (expected C… or G…)"
        )
    return value


def partner_validator(tz: ZoneInfo) -> Validator:
    free_text = PARTNERS.free_text

    def validate(fields: Fields) -> Record:
        check_texts(fields, free_text)
        record: Record = {
            "key": _required(fields, "key", PARTNER_WIDTHS),
            "name": _required(fields, "name", PARTNER_WIDTHS),
        }
        _set_instant_or_date(record, fields, "signed_at", "signed_on", tz)
        _optional_texts(fields, ("tier",), PARTNER_WIDTHS, record)
        _member_ids(fields, ("manager_slack_id", "cs_slack_id"), record)
        # Like the other optional columns: absent leaves the stored channel, empty clears it.
        if "slack_channel_id" in fields:
            channel = fields["slack_channel_id"]
            record["slack_channel_id"] = None if channel is None else slack_channel_id(channel)
        return record

    return validate


def user_validator(tz: ZoneInfo, lookups: Lookups) -> Validator:
    partner_ids = lookups.partner_ids
    users = lookups.users
    free_text = USERS.free_text

    def validate(fields: Fields) -> Record:
        check_texts(fields, free_text)
        key = _required(fields, "key", USER_WIDTHS)
        partner_key = _required(fields, "partner_key", {})
        partner_id = partner_ids.get(partner_key)
        if partner_id is None:
            raise RowRejected(f"unknown partner {partner_key!r}")
        # A rep's events are stored under its partner: moving the user would split its
        # history between two partners, so a new partner needs a new user key.
        known = users.get(key)
        if known is not None and known[1] != partner_id:
            raise RowRejected(
                f"user {key!r} belongs to partner {lookups.partner_keys[known[1]]!r}, not "
                f"{partner_key!r} (a user cannot move to another partner)"
            )
        record: Record = {"key": key, "partner_id": partner_id}
        _optional_texts(fields, ("name", "email", "locale"), USER_WIDTHS, record)
        _member_ids(fields, ("slack_user_id",), record)
        _set_instant_or_date(record, fields, "registered_at", "registered_on", tz)
        # Only a valid row ties the key to its partner for the rows after it.
        users[key] = (known[0] if known else 0, partner_id)
        return record

    return validate


def split_tags(value: str | None) -> list[str]:
    """`a; b;;a` -> `["a", "b"]`: trimmed, empties dropped, first occurrence kept."""
    if value is None:
        return []
    tags: list[str] = []
    for part in value.split(";"):
        tag = part.strip()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def asset_validator() -> Validator:
    """The record's `tags` is a list when the row carries the column (replace), else absent."""

    free_text = ASSETS.free_text

    def validate(fields: Fields) -> Record:
        check_texts(fields, free_text)
        record: Record = {"key": _required(fields, "key", ASSET_WIDTHS)}
        _optional_texts(fields, ("title", "url"), ASSET_WIDTHS, record)
        if "tags" in fields:
            tags = split_tags(fields["tags"])
            for tag in tags:
                if len(tag) > TAG_WIDTH:
                    raise RowRejected(
                        f"tag {tag[:20] + '…'!r} too long ({len(tag)} characters, "
                        f"at most {TAG_WIDTH})"
                    )
            record["tags"] = tags
        return record

    return validate


def event_validator(tz: ZoneInfo, lookups: Lookups, now: datetime) -> Validator:
    """The hot path: a few dict probes and one timestamp parse per row.

    `now` is the clock at the start of the import: an event dated more than a day after it
    is refused (a typo in the year, or a clock gone wrong, would otherwise sit in every
    report until that date).
    """
    latest = now + FUTURE_SLACK
    now_text = now.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    free_text = EVENTS.free_text
    partner_ids = lookups.partner_ids
    partner_keys = lookups.partner_keys
    users = lookups.users
    asset_keys = lookups.asset_keys
    widths = EVENT_WIDTHS
    event_id_width = widths["event_id"]
    object_width = widths["object_key"]

    def missing(name: str) -> RowRejected:
        return RowRejected(f"missing required field {name!r}")

    def validate(fields: Fields) -> Record:
        check_texts(fields, free_text)
        get = fields.get
        event_id = get("event_id")
        if event_id is None:
            raise missing("event_id")
        occurred = get("occurred_at")
        if occurred is None:
            raise missing("occurred_at")
        type_ = get("type")
        if type_ is None:
            raise missing("type")
        partner_key = get("partner_key")
        if partner_key is None:
            raise missing("partner_key")
        user_key = get("user_key")
        if user_key is None:
            raise missing("user_key")
        if type_ not in _EVENT_TYPES:
            raise RowRejected(_unknown_type(type_))
        object_key = get("object_key")
        if object_key is None and type_ not in _NO_OBJECT_TYPES:
            raise missing("object_key")
        if len(event_id) > event_id_width:
            _check_width("event_id", event_id, widths)
        if object_key is not None and len(object_key) > object_width:
            _check_width("object_key", object_key, widths)
        try:
            occurred_at = parse_instant(occurred, tz, allow_date=False)
        except TimeParseError as exc:
            raise RowRejected(f"occurred_at: {exc}") from None
        if occurred_at > latest:
            raise RowRejected(
                f"occurred_at: {occurred!r} is more than a day in the future (now: {now_text})"
            )
        partner_id = partner_ids.get(partner_key)
        if partner_id is None:
            raise RowRejected(f"unknown partner {partner_key!r}")
        user = users.get(user_key)
        if user is None:
            raise RowRejected(f"unknown user {user_key!r}")
        if user[1] != partner_id:
            raise RowRejected(
                f"user {user_key!r} belongs to partner {partner_keys.get(user[1])!r}, "
                f"not {partner_key!r}"
            )
        if type_ == events.DOWNLOAD and object_key not in asset_keys:
            raise RowRejected(f"unknown asset {object_key!r}")
        raw_amount = get("amount")
        amount = None if raw_amount is None else _amount(raw_amount)
        return {
            "event_id": event_id,
            "occurred_at": occurred_at,
            "type": type_,
            "partner_id": partner_id,
            "user_id": user[0],
            "object_key": object_key,
            "amount": amount,
        }

    return validate


def _unknown_type(type_: str) -> str:
    meant = suggest_event_type(type_, EVENT_TYPES)
    if meant:
        return f"unknown event type {type_!r}: did you mean {alternatives(meant)}?"
    return f"unknown event type {type_!r} (expected one of {', '.join(EVENT_TYPES)})"


_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)  # 0.0001: the column's smallest step
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_DOT_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:\.\d{3}){2,}(?:,\d+)?|[+-]?\d{1,3}(?:\.\d{3})+,\d+")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d{1,2}")
_SPACED = re.compile(r"[+-]?\d{1,3}(?:[ \u00a0\u202f']\d{3})+(?:\.\d+)?")
# A currency sign or code around the number: $1,200  ¥1000  1000円  1000 JPY  EUR 10
_CURRENCY = re.compile(r"^(?:[A-Za-z]{3}\s*|[$€£¥￥])|(?:\s*[A-Za-z]{3}|\s*円)$")


def _amount_hint(text: str) -> str | None:
    """How `text` was probably meant to be written (`1,000,000` -> `1000000`), or None."""
    bare = _CURRENCY.sub("", text).strip()
    if _THOUSANDS.fullmatch(bare):
        meant = bare.replace(",", "")
    elif _DOT_THOUSANDS.fullmatch(bare):
        meant = bare.replace(".", "").replace(",", ".")
    elif _DECIMAL_COMMA.fullmatch(bare):
        meant = bare.replace(",", ".")
    elif _SPACED.fullmatch(bare):
        meant = re.sub(r"[ \u00a0\u202f']", "", bare)
    elif bare != text:
        meant = bare
    else:
        return None
    try:
        Decimal(meant)
    except InvalidOperation:
        return None
    return meant


def _amount(text: str) -> Decimal:
    """A deal amount the `Numeric(20, 4)` column holds exactly: zero or more, finite, below
    10**16, at most four decimal places; else `RowRejected` saying how to write it."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        meant = _amount_hint(text)
        if meant is None:
            raise RowRejected(f"bad amount {text!r} (not a number)") from None
        raise RowRejected(
            f"bad amount {text!r} (not a number: write it as {meant}, without thousands "
            "separators or a currency)"
        ) from None
    if value.is_nan():
        raise RowRejected(f"bad amount {text!r} (not a number)")
    if value.is_infinite():
        raise RowRejected(f"bad amount {text!r} (not a finite number)")
    if value.is_zero():
        return Decimal(0)  # -0 is 0
    if value < 0:
        raise RowRejected(f"bad amount {text!r} (negative: an amount is zero or more)")
    if value >= AMOUNT_LIMIT:
        raise RowRejected(
            f"bad amount {text!r} (out of range: at most {AMOUNT_LIMIT_DIGITS} digits "
            "before the decimal point)"
        )
    if value.quantize(_QUANTUM) != value:
        raise RowRejected(
            f"bad amount {text!r} (more than {AMOUNT_SCALE} decimal places: amounts are stored "
            f"to 1/{10**AMOUNT_SCALE:,})"
        )
    return value


def make_validator(
    kind: str, tz: ZoneInfo, lookups: Lookups, *, now: datetime | None = None
) -> Validator:
    """The validator for `kind`. `now` (aware; default the wall clock) bounds event times."""
    if kind == "partners":
        return partner_validator(tz)
    if kind == "users":
        return user_validator(tz, lookups)
    if kind == "assets":
        return asset_validator()
    if kind == "events":
        return event_validator(tz, lookups, datetime.now(UTC) if now is None else now)
    raise ValueError(f"unknown kind {kind!r}")
