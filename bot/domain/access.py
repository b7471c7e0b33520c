"""Who may see what. Every Slack answer asks here first; nothing else decides access.

- admin (listed in PRM_ADMIN_SLACK_IDS): every partner;
- manager / CS: the partners whose `manager_slack_id` / `cs_slack_id` is theirs (their
  "book"; someone who is both sees both sets);
- rep (a partner user with that `slack_user_id`): their own partner, and among people's
  figures only their own;
- partner (someone in a partner's own workspace who is not a registered rep): that
  partner, and nobody's individual figures;
- anyone else: nothing.

A Slack identity is (team, user). A person whose own workspace belongs to a partner (the
partner installed the app there, or its people joined a Slack Connect channel from it) is
only ever that partner's rep or member: never an admin, a manager or CS, whatever their
user id. Someone from a workspace the bot does not know, asking from another one (an
external member of a shared channel), is a stranger unless they are a rep we linked to
that workspace. Without team information (a single workspace), roles are as before.

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
from bot.store import partners, teams


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    CS = "cs"
    REP = "rep"
    PARTNER = "partner"
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
    # The partner of a partner-side viewer (a rep's, or a partner workspace member's).
    partner: PartnerRef | None = None
    team_id: str | None = None  # the viewer's own workspace, when Slack said it

    @property
    def sees_figures(self) -> bool:
        return self.role is not Role.STRANGER

    @property
    def partner_side(self) -> bool:
        """A partner's person (rep or member): one partner's scope, nothing internal."""
        return self.role in (Role.REP, Role.PARTNER)

    @property
    def own_partner(self) -> PartnerRef | None:
        if self.rep is not None and self.role is Role.REP:
            return PartnerRef(self.rep.partner_key, self.rep.partner_name)
        return self.partner

    def book_scope(self) -> Scope:
        """The widest scope this viewer may ask about. Raises for strangers."""
        if self.role is Role.ADMIN:
            return Scope()
        if self.role in (Role.MANAGER, Role.CS):
            return Scope(member_slack_id=self.slack_user_id)
        if self.partner_side and self.own_partner is not None:
            return Scope(partner_key=self.own_partner.key)
        raise AccessDenied("stranger")

    def visible_rep_keys(self, keys: Iterable[str]) -> list[str]:
        """Whose individual figures the viewer may see: a rep, only their own; a partner
        member who is no rep, nobody's."""
        if self.role is Role.REP and self.rep is not None:
            return [k for k in keys if k == self.rep.key]
        if self.role is Role.PARTNER:
            return []
        return list(keys)


class AccessDenied(PermissionError):
    """The viewer may not see this; the reason is a message key, never data."""


class PartnerNotFound(LookupError):
    """No visible partner matches; `suggestions` come from the viewer's own book only."""

    def __init__(self, text: str, suggestions: list[PartnerRef]):
        super().__init__(text)
        self.text = text
        self.suggestions = suggestions


def resolve_viewer(
    conn: Connection,
    slack_user_id: str,
    admins: frozenset[str],
    team_id: str | None = None,
    host_team_id: str | None = None,
) -> Viewer:
    """Who (`slack_user_id` of workspace `team_id`) asks, in the workspace `host_team_id`
    that got the request (they differ for an external member of a shared channel)."""
    if team_id is not None:
        team = teams.team(conn, team_id)
        if team is not None and team.partner_key is not None:
            return _partner_side(conn, slack_user_id, team_id, team.partner_key)
        if team is None and host_team_id is not None and host_team_id != team_id:
            # An external person from a workspace we do not know: a rep linked to that
            # workspace, else nobody.
            rep = _rep(conn, slack_user_id, team_id)
            if rep is not None:
                return Viewer(slack_user_id, Role.REP, rep, team_id=team_id)
            return Viewer(slack_user_id, Role.STRANGER, team_id=team_id)
    if slack_user_id in admins:
        return Viewer(slack_user_id, Role.ADMIN, _rep(conn, slack_user_id), team_id=team_id)
    roles = partners.roles(conn, slack_user_id)
    rep = _rep(conn, slack_user_id)
    if roles.managed:
        return Viewer(slack_user_id, Role.MANAGER, rep, team_id=team_id)
    if roles.looked_after:
        return Viewer(slack_user_id, Role.CS, rep, team_id=team_id)
    if rep is not None:
        return Viewer(slack_user_id, Role.REP, rep, team_id=team_id)
    return Viewer(slack_user_id, Role.STRANGER, team_id=team_id)


def _partner_side(conn: Connection, slack_user_id: str, team_id: str, partner_key: str) -> Viewer:
    """Someone of a partner's workspace: that partner's rep, else a member of it."""
    rep = _rep(conn, slack_user_id, team_id, partner_key=partner_key)
    if rep is not None:
        return Viewer(slack_user_id, Role.REP, rep, team_id=team_id)
    name = partners.partner_names(conn, [partner_key]).get(partner_key, partner_key)
    return Viewer(
        slack_user_id, Role.PARTNER, partner=PartnerRef(partner_key, name), team_id=team_id
    )


def _rep(
    conn: Connection,
    slack_user_id: str,
    team_id: str | None = None,
    *,
    partner_key: str | None = None,
) -> RepRef | None:
    link = partners.rep_for_slack_user(
        conn, slack_user_id, team_id=team_id, partner_key=partner_key
    )
    if link is None:
        return None
    return RepRef(link.key, link.name, link.partner_key, link.partner_name, link.locale)


def _book(viewer: Viewer) -> partners.Book:
    """The partners the viewer's role lets them see; strangers see none."""
    if viewer.role is Role.ADMIN:
        return partners.Book()
    if viewer.role in (Role.MANAGER, Role.CS):
        return partners.Book(member_slack_id=viewer.slack_user_id)
    if viewer.partner_side and viewer.own_partner is not None:
        return partners.Book(partner_key=viewer.own_partner.key)
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
    if viewer.partner_side:
        raise AccessDenied("other_partner")
    close = suggest_partners(conn, text, where=partners.book_where(book))
    raise PartnerNotFound(text, [PartnerRef(k, n) for k, n in close])


def manages_partner(viewer: Viewer, manager_slack_id: str | None) -> bool:
    """Who may change a partner's program settings (its Slack Connect channel, its tier):
    the partner's own manager, or an admin; nobody on the partner's side."""
    if viewer.role is Role.ADMIN:
        return True
    return (
        viewer.role is Role.MANAGER
        and manager_slack_id is not None
        and viewer.slack_user_id == manager_slack_id
    )


def may_see_partner(conn: Connection, viewer: Viewer, partner_key: str) -> bool:
    """Whether this partner lies in the viewer's book, so that a message to the viewer
    may name it (a deal card's conflict with another partner, say)."""
    if viewer.role is Role.STRANGER:
        return False
    return partners.in_book(conn, partner_key, _book(viewer))
