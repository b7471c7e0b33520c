"""Turn one row's fields into a record ready to store, or refuse it with a reason.

Validation is plain Python against lookups loaded once per import (partner key -> id, user
key -> (id, partner id), asset keys), so a million-row file costs no per-row queries. Every
check the database would make (widths, references, the amount's precision) is made here
first, so a batch never fails half-way on one bad row.

Reason texts (shown as `line N: <reason>`):

- `missing required field 'partner_key'`
- `unknown partner 'acme2'`, `unknown user 'u9'`, `unknown asset 'deck-x'`
- `user 'acme-a' belongs to partner 'globex', not 'acme'`
- `unknown event type 'deal.lost'`
- `occurred_at: time without offset: '2026-04-01T09:30:00'`
- `occurred_at: unparseable time: 'yesterday'` (also `unparseable date` for a bad plain date)
- `bad amount 'ten' (not a number)`, `bad amount '1e30' (out of range)`
- `field 'tier' too long (72 characters, at most 64)`, `tag 'x…' too long (…)`
- `slack_channel_id: not a Slack channel id: 'c0abc' (expected C or G, then 2 to 31 capital
  letters or digits)`, `slack_channel_id: 'D024BE91L' is a direct-message id, not a channel
  (expected C… or G…)`

The reader adds its own: `invalid JSON line: …`, `malformed CSV record: …`, `not valid UTF-8`,
`N fields, but the header has M`, `field 'x' must be a string, not an object`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from bot.importer.errors import RowRejected
from bot.importer.kinds import (
    AMOUNT_LIMIT,
    ASSET_WIDTHS,
    EVENT_WIDTHS,
    PARTNER_WIDTHS,
    TAG_WIDTH,
    USER_WIDTHS,
)
from bot.importer.readers import Fields
from bot.models import EVENT_TYPES, Asset, Partner, PartnerUser
from bot.timeutil import PLAIN_DATE, TimeParseError, parse_instant

Record = dict[str, Any]
Validator = Callable[[Fields], Record]

_EVENT_TYPES = frozenset(EVENT_TYPES)
_NO_OBJECT_TYPES = frozenset({"user.login"})

# A Slack conversation id: a type letter, then capitals and digits, 32 characters at most
# (the column's width). A partner's shared channel is a public (C…) or private (G…) channel;
# a D… id is a direct message with one person, so it is refused with its own reason.
SLACK_CONVERSATION_ID = re.compile(r"[CGD][A-Z0-9]{2,31}")
_CHANNEL_PREFIXES = ("C", "G")
_SHOWN_CHARS = 40  # a longer rejected value is cut short in the reason


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
        for id_, key in conn.execute(select(Partner.id, Partner.key)):
            found.partner_ids[key] = id_
            found.partner_keys[id_] = key
    if kind in ("users", "events"):
        for key, id_, partner_id in conn.execute(
            select(PartnerUser.key, PartnerUser.id, PartnerUser.partner_id)
        ):
            found.users[key] = (id_, partner_id)
    if kind == "events":
        found.asset_keys.update(conn.execute(select(Asset.key)).scalars())
    return found


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
            record[date_name] = date.fromisoformat(value.strip())
        except ValueError:
            raise RowRejected(f"{name}: unparseable date: {value.strip()!r}") from None
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


def slack_channel_id(value: str) -> str:
    """`value` if it is a Slack channel id (`C…` or `G…`), else `RowRejected` saying why."""
    if not SLACK_CONVERSATION_ID.fullmatch(value):
        shown = value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "…"
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
    def validate(fields: Fields) -> Record:
        record: Record = {
            "key": _required(fields, "key", PARTNER_WIDTHS),
            "name": _required(fields, "name", PARTNER_WIDTHS),
        }
        _set_instant_or_date(record, fields, "signed_at", "signed_on", tz)
        _optional_texts(fields, ("tier", "manager_slack_id", "cs_slack_id"), PARTNER_WIDTHS, record)
        # Like the other optional columns: absent leaves the stored channel, empty clears it.
        if "slack_channel_id" in fields:
            channel = fields["slack_channel_id"]
            record["slack_channel_id"] = None if channel is None else slack_channel_id(channel)
        return record

    return validate


def user_validator(tz: ZoneInfo, lookups: Lookups) -> Validator:
    partner_ids = lookups.partner_ids
    users = lookups.users

    def validate(fields: Fields) -> Record:
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
        users[key] = (known[0] if known else 0, partner_id)
        record: Record = {"key": key, "partner_id": partner_id}
        _optional_texts(fields, ("name", "email", "slack_user_id", "locale"), USER_WIDTHS, record)
        _set_instant_or_date(record, fields, "registered_at", "registered_on", tz)
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

    def validate(fields: Fields) -> Record:
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


def event_validator(tz: ZoneInfo, lookups: Lookups) -> Validator:
    """The hot path: a few dict probes and one timestamp parse per row."""
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
            raise RowRejected(f"unknown event type {type_!r}")
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
        if type_ == "content.downloaded" and object_key not in asset_keys:
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


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RowRejected(f"bad amount {text!r} (not a number)") from None
    if not value.is_finite():
        raise RowRejected(f"bad amount {text!r} (not a number)")
    if abs(value) >= AMOUNT_LIMIT:
        raise RowRejected(f"bad amount {text!r} (out of range)")
    return value


def make_validator(kind: str, tz: ZoneInfo, lookups: Lookups) -> Validator:
    if kind == "partners":
        return partner_validator(tz)
    if kind == "users":
        return user_validator(tz, lookups)
    if kind == "assets":
        return asset_validator()
    if kind == "events":
        return event_validator(tz, lookups)
    raise ValueError(f"unknown kind {kind!r}")
