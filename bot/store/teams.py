"""Slack workspaces the bot knows (`slack_team`) and installs begun from a partner's link.

A team is the vendor's own (no partner) or one partner's: learnt from an OAuth install
through the partner's install link, or from a partner's person accepting a Slack Connect
invite. Whether the bot may send there with that team's own token is `sendable`: it was
installed and neither `app_uninstalled` nor `tokens_revoked` came since.

Who may see what is decided in bot.domain.access; this module only keeps the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, column, delete, select, table, update

from bot.store.engine import insert_ignore, table_of
from bot.store.handles import partners as P
from bot.store.tables import InstallIntent, SlackTeam

T = table_of(SlackTeam)
INTENTS = table_of(InstallIntent)

# slack-sdk's installation store table (migration 0004), read here for the jobs: they run
# without Bolt, and may run without SLACK_CLIENT_ID in their environment.
BOTS = table(
    "slack_bots",
    column("client_id"),
    column("enterprise_id"),
    column("team_id"),
    column("bot_token"),
    column("installed_at"),
)

UNINSTALLED = "app_uninstalled"
REVOKED = "tokens_revoked"


@dataclass(frozen=True)
class Team:
    team_id: str
    partner_key: str | None  # None: the vendor's own workspace
    partner_name: str | None
    installed: bool  # installed, and not removed since
    removed_reason: str | None

    @property
    def sendable(self) -> bool:
        return self.installed


def team(conn: Connection, team_id: str) -> Team | None:
    row = conn.execute(
        select(T.c.team_id, T.c.installed_at, T.c.removed_at, T.c.removed_reason, P.c.key, P.c.name)
        .select_from(T.outerjoin(P, P.c.id == T.c.partner_id))
        .where(T.c.team_id == team_id)
    ).first()
    if row is None:
        return None
    installed = row.installed_at is not None and row.removed_at is None
    return Team(row.team_id, row.key, row.name, installed, row.removed_reason)


def partner_teams(conn: Connection, partner_key: str) -> list[Team]:
    """The partner's workspaces (usually one), installed ones first."""
    ids = conn.execute(
        select(T.c.team_id)
        .join(P, P.c.id == T.c.partner_id)
        .where(P.c.key == partner_key)
        .order_by(T.c.installed_at.is_(None), T.c.team_id)
    ).scalars()
    return [t for t in (team(conn, i) for i in list(ids)) if t is not None]


def partner_of_team(conn: Connection, team_id: str) -> str | None:
    found = team(conn, team_id)
    return found.partner_key if found else None


def vendor_team_ids(conn: Connection) -> list[str]:
    """Installed workspaces that belong to no partner: the vendor's own, oldest first."""
    return list(
        conn.execute(
            select(T.c.team_id)
            .where(
                T.c.partner_id.is_(None), T.c.installed_at.is_not(None), T.c.removed_at.is_(None)
            )
            .order_by(T.c.installed_at, T.c.team_id)
        ).scalars()
    )


def removed_team_ids(conn: Connection) -> set[str]:
    """Workspaces the bot was removed from: nothing is sent there."""
    return set(conn.execute(select(T.c.team_id).where(T.c.removed_at.is_not(None))).scalars())


def _partner_id(conn: Connection, partner_key: str) -> int:
    pid = conn.execute(select(P.c.id).where(P.c.key == partner_key)).scalar()
    if pid is None:
        raise LookupError(partner_key)
    return int(pid)


def record_install(
    conn: Connection,
    team_id: str,
    now: datetime,
    *,
    partner_key: str | None = None,
    name: str | None = None,
) -> str | None:
    """The bot was installed in `team_id` (again): it may send there. Returns the partner
    the team belongs to now (None: the vendor's).

    Installed through a partner's link, an unknown team becomes that partner's; a team
    already known as the vendor's or as another partner's keeps its owner (a link must not
    turn the vendor's own people into a partner's, nor move a team between partners). A
    plain install keeps what the team was; an unknown one is the vendor's."""
    conn.execute(insert_ignore(conn, T, ["team_id"]).values(team_id=team_id, updated_at=now))
    row = conn.execute(select(T.c.partner_id, T.c.installed_at).where(T.c.team_id == team_id)).one()
    values: dict = {"installed_at": now, "removed_at": None, "removed_reason": None}
    values["updated_at"] = now
    if name:
        values["name"] = name
    owner = row.partner_id
    fresh = owner is None and row.installed_at is None  # not yet anybody's
    if partner_key is not None and fresh:
        owner = values["partner_id"] = _partner_id(conn, partner_key)
    conn.execute(update(T).where(T.c.team_id == team_id).values(**values))
    if owner is None:
        return None
    return conn.execute(select(P.c.key).where(P.c.id == owner)).scalar()


def link_partner(conn: Connection, team_id: str, partner_key: str, now: datetime) -> bool:
    """A partner's person joined from `team_id` (an accepted Slack Connect invite): the
    team is that partner's, unless it already belongs to someone (a team is never moved
    from one partner to another by an invite, nor taken from the vendor). True if linked."""
    pid = _partner_id(conn, partner_key)
    conn.execute(
        insert_ignore(conn, T, ["team_id"]).values(team_id=team_id, partner_id=pid, updated_at=now)
    )
    owner = conn.execute(select(T.c.partner_id).where(T.c.team_id == team_id)).scalar()
    return owner == pid


def record_removed(conn: Connection, team_id: str, reason: str, now: datetime) -> bool:
    """`app_uninstalled` or `tokens_revoked`: stop sending there. True the first time."""
    conn.execute(insert_ignore(conn, T, ["team_id"]).values(team_id=team_id, updated_at=now))
    result = conn.execute(
        update(T)
        .where(T.c.team_id == team_id, T.c.removed_at.is_(None))
        .values(removed_at=now, removed_reason=reason, updated_at=now)
    )
    return bool(result.rowcount)


def bot_token(conn: Connection, team_id: str, client_id: str | None = None) -> str | None:
    """The newest bot token installed in `team_id` (of this app's client id, when known)."""
    query = (
        select(BOTS.c.bot_token)
        .where(BOTS.c.team_id == team_id, BOTS.c.enterprise_id.is_(None))
        .order_by(BOTS.c.installed_at.desc())
        .limit(1)
    )
    if client_id:
        query = query.where(BOTS.c.client_id == client_id)
    token = conn.execute(query).scalar()
    return str(token) if token else None


def delete_installation(conn: Connection, team_id: str) -> None:
    """Forget the team's tokens (slack-sdk's tables): an uninstalled app's token is dead."""
    for name in ("slack_bots", "slack_installations"):
        installs = table(name, column("team_id"))
        conn.execute(delete(installs).where(installs.c.team_id == team_id))


def add_intent(conn: Connection, state: str, partner_key: str, expires_at: datetime) -> None:
    conn.execute(
        INTENTS.insert().values(
            state=state, partner_id=_partner_id(conn, partner_key), expires_at=expires_at
        )
    )


def take_intent(conn: Connection, state: str, now: datetime) -> str | None:
    """The partner an install with this OAuth state was begun for; used once."""
    row = conn.execute(
        select(INTENTS.c.expires_at, P.c.key)
        .join(P, P.c.id == INTENTS.c.partner_id)
        .where(INTENTS.c.state == state)
    ).first()
    conn.execute(delete(INTENTS).where(INTENTS.c.state == state))
    conn.execute(delete(INTENTS).where(INTENTS.c.expires_at < now))
    if row is None or row.expires_at < now:
        return None
    return str(row.key)
