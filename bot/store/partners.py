"""Row-level reads of partners and their reps: names by key, who a Slack user is, whose
book a partner lies in.

Access decisions, rankings and wording live in the domain; it asks these functions for
plain rows instead of writing SQL on the partner tables itself, so a change of schema
touches the store alone. Nothing here knows roles: a `Book` only says which partners
a question may range over.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from bot.store.handles import partners as P
from bot.store.handles import reps as U


@dataclass(frozen=True)
class Book:
    """Which partners a question may range over: every partner (nothing set), the ones a
    Slack member manages or looks after, or a single partner."""

    member_slack_id: str | None = None
    partner_key: str | None = None


@dataclass(frozen=True)
class Roles:
    """How many partners a Slack user manages and how many they look after (CS)."""

    managed: int
    looked_after: int


@dataclass(frozen=True)
class RepLink:
    """A rep and the partner they belong to."""

    key: str
    name: str | None
    locale: str | None
    partner_key: str
    partner_name: str


@dataclass(frozen=True)
class PartnerRow:
    key: str
    name: str
    tier: str | None
    signed_at: datetime | None
    signed_on: date | None


@dataclass(frozen=True)
class RepDates:
    """When a rep registered and their partner signed: each an instant or a plain date."""

    registered_at: datetime | None
    registered_on: date | None
    signed_at: datetime | None
    signed_on: date | None


def member_of(slack_id: str) -> ColumnElement[bool]:
    """The partners a Slack member has in their book: those they manage or look after.
    The one statement of that rule; the KPI engine's scope filter uses it too."""
    return or_(P.c.manager_slack_id == slack_id, P.c.cs_slack_id == slack_id)


def book_where(book: Book) -> ColumnElement[bool] | None:
    """The partner-table condition for `book`; None for every partner."""
    clauses: list[ColumnElement[bool]] = []
    if book.member_slack_id is not None:
        clauses.append(member_of(book.member_slack_id))
    if book.partner_key is not None:
        clauses.append(P.c.key == book.partner_key)
    return and_(*clauses) if clauses else None


def partner_count(conn: Connection) -> int:
    """How many partners the store holds (signed or not)."""
    return int(conn.execute(select(func.count()).select_from(P)).scalar_one())


def partner_names(conn: Connection, keys: Collection[str]) -> dict[str, str]:
    """{partner key: name} for those of `keys` that exist."""
    if not keys:
        return {}
    rows = conn.execute(select(P.c.key, P.c.name).where(P.c.key.in_(list(keys))))
    return {key: name for key, name in rows}


def rep_names(conn: Connection, keys: Collection[str]) -> dict[str, str | None]:
    """{rep key: name as stored (may be None)} for those of `keys` that exist."""
    if not keys:
        return {}
    rows = conn.execute(select(U.c.key, U.c.name).where(U.c.key.in_(list(keys))))
    return {key: name for key, name in rows}


def partner_row(conn: Connection, key: str) -> PartnerRow:
    """The partner with this key; raises NoResultFound when there is none."""
    row = conn.execute(
        select(P.c.key, P.c.name, P.c.tier, P.c.signed_at, P.c.signed_on).where(P.c.key == key)
    ).one()
    return PartnerRow(row.key, row.name, row.tier, row.signed_at, row.signed_on)


def rep_dates(conn: Connection, rep_key: str) -> RepDates:
    """The rep's registration and their partner's signing; raises NoResultFound for an
    unknown rep."""
    row = conn.execute(
        select(U.c.registered_at, U.c.registered_on, P.c.signed_at, P.c.signed_on)
        .join(P, P.c.id == U.c.partner_id)
        .where(U.c.key == rep_key)
    ).one()
    return RepDates(row.registered_at, row.registered_on, row.signed_at, row.signed_on)


def roles(conn: Connection, slack_user_id: str) -> Roles:
    """How many partners name this Slack user as manager, and how many as CS."""
    row = conn.execute(
        select(
            func.count().filter(P.c.manager_slack_id == slack_user_id),
            func.count().filter(P.c.cs_slack_id == slack_user_id),
        ).where(or_(P.c.manager_slack_id == slack_user_id, P.c.cs_slack_id == slack_user_id))
    ).one()
    return Roles(int(row[0]), int(row[1]))


def rep_for_slack_user(
    conn: Connection,
    slack_user_id: str,
    *,
    team_id: str | None = None,
    partner_key: str | None = None,
) -> RepLink | None:
    """The rep with this Slack account, or None.

    One Slack account should be one rep; if an import gave it two, the earliest wins.
    With `team_id`, only a rep whose account is of that workspace (or says no workspace);
    with `partner_key`, only that partner's rep.
    """
    query = (
        select(U.c.key, U.c.name, U.c.locale, P.c.key.label("pkey"), P.c.name.label("pname"))
        .join(P, P.c.id == U.c.partner_id)
        .where(U.c.slack_user_id == slack_user_id)
        .order_by(U.c.id)
        .limit(1)
    )
    if team_id is not None:
        query = query.where(or_(U.c.slack_team_id.is_(None), U.c.slack_team_id == team_id))
    if partner_key is not None:
        query = query.where(P.c.key == partner_key)
    row = conn.execute(query).first()
    if row is None:
        return None
    return RepLink(row.key, row.name, row.locale, row.pkey, row.pname)


def partners_called(conn: Connection, text: str, book: Book) -> list[tuple[str, str]]:
    """(key, name) of the partners in `book` whose key is `text` or whose name is `text`
    in any case, by key."""
    query = select(P.c.key, P.c.name).where(
        or_(P.c.key == text, func.lower(P.c.name) == text.lower())
    )
    visible = book_where(book)
    if visible is not None:
        query = query.where(visible)
    return [(key, name) for key, name in conn.execute(query.order_by(P.c.key))]


def in_book(conn: Connection, partner_key: str, book: Book) -> bool:
    """Whether the partner exists and lies in `book`."""
    query = select(P.c.id).where(P.c.key == partner_key)
    visible = book_where(book)
    if visible is not None:
        query = query.where(visible)
    return conn.execute(query).first() is not None


def manager_ids(conn: Connection) -> list[str]:
    """Every Slack id named as some partner's manager, once each."""
    return [
        m
        for (m,) in conn.execute(
            select(P.c.manager_slack_id).where(P.c.manager_slack_id.is_not(None)).distinct()
        )
    ]


def cs_ids(conn: Connection) -> list[str]:
    """Every Slack id named as some partner's CS owner, once each, sorted."""
    return sorted(
        cs
        for (cs,) in conn.execute(
            select(P.c.cs_slack_id).where(P.c.cs_slack_id.is_not(None)).distinct()
        )
    )


def partner_of_channel(conn: Connection, channel_id: str) -> tuple[str, str] | None:
    """(key, name) of the partner whose shared channel this is, or None."""
    row = conn.execute(select(P.c.key, P.c.name).where(P.c.slack_channel_id == channel_id)).first()
    return (row.key, row.name) if row else None
