"""Who may see what. Every Slack answer asks here first; nothing else decides access.

- admin (listed in PRM_ADMIN_SLACK_IDS): every partner;
- manager / CS: the partners whose `manager_slack_id` / `cs_slack_id` is theirs (their
  "book"; someone who is both sees both sets);
- rep (a partner user with that `slack_user_id`): their own partner, and among people's
  figures only their own;
- anyone else: nothing.

A question can only narrow the caller's book, never widen it: a partner named in a
command must lie inside the book, and partner suggestions come only from the book, so
not even a partner's existence leaks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, func, or_, select

from bot.kpi.lookup import suggest_partners
from bot.kpi.params import Scope
from bot.kpi.sql import P, U


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    CS = "cs"
    REP = "rep"
    STRANGER = "stranger"


@dataclass(frozen=True)
class RepRef:
    key: str
    name: str | None
    partner_key: str
    partner_name: str
    locale: str | None


@dataclass(frozen=True)
class PartnerRef:
    key: str
    name: str


@dataclass(frozen=True)
class Viewer:
    slack_user_id: str
    role: Role
    rep: RepRef | None = None

    @property
    def sees_figures(self) -> bool:
        return self.role is not Role.STRANGER

    def book_scope(self) -> Scope:
        """The widest scope this viewer may ask about. Raises for strangers."""
        if self.role is Role.ADMIN:
            return Scope()
        if self.role in (Role.MANAGER, Role.CS):
            return Scope(member_slack_id=self.slack_user_id)
        if self.role is Role.REP and self.rep is not None:
            return Scope(partner_key=self.rep.partner_key)
        raise AccessDenied("stranger")

    def visible_rep_keys(self, keys: Iterable[str]) -> list[str]:
        """Whose individual figures the viewer may see: a rep, only their own."""
        if self.role is Role.REP and self.rep is not None:
            return [k for k in keys if k == self.rep.key]
        return list(keys)


class AccessDenied(PermissionError):
    """The viewer may not see this; the reason is a message key, never data."""


class PartnerNotFound(LookupError):
    """No visible partner matches; `suggestions` come from the viewer's own book only."""

    def __init__(self, text: str, suggestions: list[PartnerRef]):
        super().__init__(text)
        self.text = text
        self.suggestions = suggestions


def resolve_viewer(conn: Connection, slack_user_id: str, admins: frozenset[str]) -> Viewer:
    if slack_user_id in admins:
        return Viewer(slack_user_id, Role.ADMIN, _rep(conn, slack_user_id))
    roles = conn.execute(
        select(
            func.count().filter(P.c.manager_slack_id == slack_user_id),
            func.count().filter(P.c.cs_slack_id == slack_user_id),
        ).where(or_(P.c.manager_slack_id == slack_user_id, P.c.cs_slack_id == slack_user_id))
    ).one()
    rep = _rep(conn, slack_user_id)
    if roles[0]:
        return Viewer(slack_user_id, Role.MANAGER, rep)
    if roles[1]:
        return Viewer(slack_user_id, Role.CS, rep)
    if rep is not None:
        return Viewer(slack_user_id, Role.REP, rep)
    return Viewer(slack_user_id, Role.STRANGER)


def _rep(conn: Connection, slack_user_id: str) -> RepRef | None:
    # One Slack account should be one rep; if an import gave it two, the earliest wins.
    row = conn.execute(
        select(U.c.key, U.c.name, U.c.locale, P.c.key.label("pkey"), P.c.name.label("pname"))
        .join(P, P.c.id == U.c.partner_id)
        .where(U.c.slack_user_id == slack_user_id)
        .order_by(U.c.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return RepRef(row.key, row.name, row.pkey, row.pname, row.locale)


def _visible(viewer: Viewer):
    if viewer.role is Role.ADMIN:
        return None
    if viewer.role in (Role.MANAGER, Role.CS):
        return or_(
            P.c.manager_slack_id == viewer.slack_user_id,
            P.c.cs_slack_id == viewer.slack_user_id,
        )
    if viewer.role is Role.REP and viewer.rep is not None:
        return P.c.key == viewer.rep.partner_key
    raise AccessDenied("stranger")


def resolve_partner(conn: Connection, viewer: Viewer, text: str) -> PartnerRef:
    """The partner the viewer means by `text` (key, or name in any case), inside their book.

    A rep naming another partner gets AccessDenied("other_partner"); anyone else naming a
    partner outside their book gets PartnerNotFound with suggestions from the book.
    """
    text = text.strip()
    visible = _visible(viewer)
    query = select(P.c.key, P.c.name).where(
        or_(P.c.key == text, func.lower(P.c.name) == text.lower())
    )
    if visible is not None:
        query = query.where(visible)
    hits = conn.execute(query.order_by(P.c.key)).all()
    exact = [h for h in hits if h.key == text] or hits
    if exact:
        return PartnerRef(exact[0].key, exact[0].name)
    if viewer.role is Role.REP:
        raise AccessDenied("other_partner")
    close = suggest_partners(conn, text, where=visible)
    raise PartnerNotFound(text, [PartnerRef(k, n) for k, n in close])


def may_see_partner(conn: Connection, viewer: Viewer, partner_key: str) -> bool:
    """Whether this partner lies in the viewer's book, so that a message to the viewer
    may name it (a deal card's conflict with another partner, say)."""
    if viewer.role is Role.STRANGER:
        return False
    query = select(P.c.id).where(P.c.key == partner_key)
    visible = _visible(viewer)
    if visible is not None:
        query = query.where(visible)
    return conn.execute(query).first() is not None
