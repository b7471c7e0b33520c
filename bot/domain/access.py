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

The rows come from bot.store.partners; which role someone has and which book that gives
them is decided here, and only here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection

from bot.kpi.lookup import find_partner, suggest_partners
from bot.kpi.params import Scope
from bot.store import partners


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
    roles = partners.roles(conn, slack_user_id)
    rep = _rep(conn, slack_user_id)
    if roles.managed:
        return Viewer(slack_user_id, Role.MANAGER, rep)
    if roles.looked_after:
        return Viewer(slack_user_id, Role.CS, rep)
    if rep is not None:
        return Viewer(slack_user_id, Role.REP, rep)
    return Viewer(slack_user_id, Role.STRANGER)


def _rep(conn: Connection, slack_user_id: str) -> RepRef | None:
    link = partners.rep_for_slack_user(conn, slack_user_id)
    if link is None:
        return None
    return RepRef(link.key, link.name, link.partner_key, link.partner_name, link.locale)


def _book(viewer: Viewer) -> partners.Book:
    """The partners the viewer's role lets them see; strangers see none."""
    if viewer.role is Role.ADMIN:
        return partners.Book()
    if viewer.role in (Role.MANAGER, Role.CS):
        return partners.Book(member_slack_id=viewer.slack_user_id)
    if viewer.role is Role.REP and viewer.rep is not None:
        return partners.Book(partner_key=viewer.rep.partner_key)
    raise AccessDenied("stranger")


def resolve_partner(conn: Connection, viewer: Viewer, text: str) -> PartnerRef:
    """The partner the viewer means by `text` (key, or name in any case), inside their book.

    A rep naming another partner gets AccessDenied("other_partner"); anyone else naming a
    partner outside their book gets PartnerNotFound with suggestions from the book.
    """
    text = text.strip()
    book = _book(viewer)
    hits = partners.partners_called(conn, text, book)
    exact = [h for h in hits if h[0] == text] or hits
    if exact:
        return PartnerRef(*exact[0])
    # The name without its legal form, in any width or case ("青葉ネットワーク2").
    same = find_partner(conn, text, where=partners.book_where(book))
    if same is not None:
        return PartnerRef(*same)
    if viewer.role is Role.REP:
        raise AccessDenied("other_partner")
    close = suggest_partners(conn, text, where=partners.book_where(book))
    raise PartnerNotFound(text, [PartnerRef(k, n) for k, n in close])


def may_see_partner(conn: Connection, viewer: Viewer, partner_key: str) -> bool:
    """Whether this partner lies in the viewer's book, so that a message to the viewer
    may name it (a deal card's conflict with another partner, say)."""
    if viewer.role is Role.STRANGER:
        return False
    return partners.in_book(conn, partner_key, _book(viewer))
