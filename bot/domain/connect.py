"""Partner channels over Slack Connect: the rules, as pure functions where they can be.

`prm partners connect KEY --email …` and the "Connect on Slack" button on a partner's card
(docs/partners.md) make one channel per partner in the vendor's workspace and invite the
partner's people to it by email. What is decided here:

- the channel's name (`channel_name`: Slack's rules, `prm-<key>`);
- which addresses are real addresses (`normalise_email`, `valid_email`);
- which addresses get an invitation (`plan_invites`: never one twice; a failed one again);
- what each outcome, and each of Slack's error codes, says to an operator (`line`);
- who may connect a partner (`may_connect`: its manager, or an admin);
- what an accepted or declined invitation, or someone joining the channel, changes
  (`accepted`, `declined`, `joined`): every write an idempotent upsert, since Slack
  retries its events; an event about a channel or invitation we never made is ignored.

No Slack I/O here: bot.slack.connect calls Slack and records what it answered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from bot.domain.access import Viewer, manages_partner
from bot.store import invites, teams

CHANNEL_PREFIX = "prm-"
CHANNEL_NAME_MAX = 80  # Slack's limit for a channel name
EMAIL_MAX = 320
# One address, as Slack takes it: a local part and a domain with a dot, no spaces, no
# list separators or angle brackets (a pasted "Name <a@b.c>" is not an address).
_EMAIL = re.compile(r"^[^@\s,;<>\"'()]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)+$")
_NOT_IN_NAME = re.compile(r"[^a-z0-9_-]+")

# Invitation states (partner_invite.status).
PENDING, ACCEPTED, DECLINED, FAILED = "pending", "accepted", "declined", "failed"
SETTLED = frozenset({PENDING, ACCEPTED, DECLINED})  # never invited again


def channel_name(partner_key: str) -> str:
    """`prm-<key>` as Slack allows a channel name: lowercase letters, digits, hyphens and
    underscores, at most 80 characters (anything else becomes one hyphen)."""
    slug = _NOT_IN_NAME.sub("-", partner_key.strip().lower()).strip("-_")
    slug = re.sub(r"-{2,}", "-", slug) or "partner"
    return (CHANNEL_PREFIX + slug)[:CHANNEL_NAME_MAX].rstrip("-_")


def normalise_email(raw: str) -> str:
    return raw.strip().lower()


def valid_email(address: str) -> bool:
    """A normalised address Slack could send an invitation to."""
    return 0 < len(address) <= EMAIL_MAX and bool(_EMAIL.match(address))


def split_addresses(text: str | None) -> list[str]:
    """Addresses typed into a form: one per line, or separated by commas, semicolons or
    spaces; normalised, in order, each once."""
    parts = re.split(r"[\s,;]+", text or "")
    return unique(normalise_email(p) for p in parts if p.strip())


def unique(addresses: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for address in addresses:
        seen.setdefault(address, None)
    return list(seen)


INVITE, SKIP, INVALID = "invite", "skip", "invalid"


@dataclass(frozen=True)
class Step:
    email: str
    action: str  # invite | skip | invalid
    status: str | None = None  # skip: the invitation's state (pending, accepted, declined)


def plan_invites(requested: Iterable[str], existing: Mapping[str, str]) -> list[Step]:
    """What to do with each requested address (normalised, each once): an address that was
    invited already (pending, accepted or declined) is skipped; one whose invitation
    failed, or a new one, is invited; one that is not an address is not sent to Slack."""
    steps = []
    for email in unique(normalise_email(r) for r in requested):
        status = existing.get(email)
        if not valid_email(email):
            steps.append(Step(email, INVALID))
        elif status in SETTLED:
            steps.append(Step(email, SKIP, status))
        else:
            steps.append(Step(email, INVITE))
    return steps


# --- what happened, line by line ---------------------------------------------------------

# Kinds of line. `ok` says whether it leaves what was asked for done (or already done).
CHANNEL_CREATED = "channel_created"
CHANNEL_ADOPTED = "channel_adopted"
CHANNEL_KEPT = "channel_kept"
CHANNEL_OTHER = "channel_other"  # --channel names another channel than the partner's
CHANNEL_FAILED = "channel_failed"
NOT_A_MEMBER = "not_a_member"
WELCOME_POSTED = "welcome_posted"
WELCOME_ALREADY = "welcome_already"
WELCOME_OWED = "welcome_owed"  # Slack did not take it now; the running bot retries it
WELCOME_FAILED = "welcome_failed"
INVITED = "invited"
ALREADY = "already"
IN_CHANNEL = "in_channel"
INVALID_EMAIL = "invalid_email"
INVITE_FAILED = "invite_failed"
NO_CLIENT = "no_client"
NOT_OK = frozenset(
    {CHANNEL_OTHER, CHANNEL_FAILED, NOT_A_MEMBER, WELCOME_FAILED, INVALID_EMAIL,
     INVITE_FAILED, NO_CLIENT}
)  # fmt: skip


@dataclass(frozen=True)
class Line:
    kind: str
    email: str | None = None
    channel: str | None = None
    code: str | None = None  # Slack's error code, or the invitation's state for ALREADY
    name: str | None = None  # the channel's name (created, or taken)

    @property
    def ok(self) -> bool:
        return self.kind not in NOT_OK


# What each of Slack's answers means for the operator. Codes as Slack documents them for
# conversations.create and conversations.inviteShared.
ERRORS: dict[str, str] = {
    "restricted_action": "the workspace's admins do not allow the bot to create channels or "
    "send Slack Connect invitations (restricted_action): ask a Slack admin to allow it",
    "not_allowed_token_type": "this token cannot do that (not_allowed_token_type): use the "
    "bot token (xoxb-…) of the vendor's workspace",
    "not_paid": "Slack Connect needs a paid Slack plan (not_paid): the vendor's workspace is "
    "on the free plan",
    "not_allowed_for_grid_workspace": "Slack Connect is turned off for this workspace "
    "(not_allowed_for_grid_workspace): ask the org's admins to enable it",
    "connection_limit_exceeded_pending": "the channel already has an invitation waiting to be "
    "accepted or approved (connection_limit_exceeded_pending): try again once it is",
    "missing_scope": "the app lacks a scope this needs (missing_scope): reinstall it with the "
    "current manifest (conversations.connect:write, channels:manage, groups:write)",
    "channel_not_found": "Slack does not know that channel, or the bot is not in it "
    "(channel_not_found): check the id and invite the bot to the channel",
    "is_archived": "the channel is archived (is_archived): unarchive it or choose another",
    "channel_archived": "the channel is archived (channel_archived): unarchive it or choose "
    "another",
    "invalid_email": "Slack refused the address (invalid_email)",
    "user_not_found": "Slack found nobody to invite (user_not_found)",
    "ratelimited": "Slack is rate limiting these calls (ratelimited): run it again in a minute",
    "invalid_auth": "the bot token is not valid (invalid_auth)",
    "token_revoked": "the bot token was revoked (token_revoked): reinstall the app",
}


def error_text(code: str, name: str | None = None) -> str:
    if code == "name_taken":
        taken = f"#{name} " if name else ""
        return (
            f"a channel {taken}exists already (name_taken): adopt it with --channel "
            "C… (its id), after adding the bot to it"
        )
    if code.startswith("unreachable"):
        return f"Slack could not be reached ({code}): nothing was changed; run it again"
    return ERRORS.get(code, f"Slack said {code}")


def line(item: Line) -> str:
    """One line for an operator (English, as all CLI output)."""
    k, who, ch = item.kind, item.email or "", item.channel or ""
    if k == CHANNEL_CREATED:
        return f"created channel #{item.name} ({ch})"
    if k == CHANNEL_ADOPTED:
        return f"using channel {ch} as the partner's channel"
    if k == CHANNEL_KEPT:
        return f"partner channel {ch} exists already"
    if k == CHANNEL_OTHER:
        return (
            f"the partner's channel is {ch} already, not {item.code}: nothing was changed "
            "(run it without --channel)"
        )
    if k == CHANNEL_FAILED:
        return f"channel not made: {error_text(item.code or '', item.name)}"
    if k == NOT_A_MEMBER:
        return f"the bot is not a member of {ch}: add the bot to the channel, then run it again"
    if k == WELCOME_POSTED:
        return f"welcome message posted in {ch}"
    if k == WELCOME_ALREADY:
        return f"welcome message already posted in {ch}"
    if k == WELCOME_OWED:
        return f"welcome message owed in {ch} ({item.code}): the running bot (prm serve) sends it"
    if k == WELCOME_FAILED:
        return f"welcome message not posted: {error_text(item.code or '')}"
    if k == INVITED:
        return f"{who}: invited"
    if k == ALREADY:
        return f"{who}: already invited ({item.code}), skipped"
    if k == IN_CHANNEL:
        return f"{who}: already in the channel"
    if k == INVALID_EMAIL:
        return f"{who or '(empty)'}: not an email address, not sent"
    if k == INVITE_FAILED:
        return f"{who}: not invited: {error_text(item.code or '')}"
    if k == NO_CLIENT:
        return (
            "no Slack client for the vendor's workspace: set SLACK_BOT_TOKEN, or install "
            "the app (OAuth)"
        )
    return k


def summary(partner_key: str, channel: str | None, lines: Iterable[Line]) -> str:
    items = list(lines)
    count = {k: sum(1 for i in items if i.kind == k) for k in (INVITED, ALREADY, IN_CHANNEL)}
    failed = sum(1 for i in items if i.kind == INVITE_FAILED)
    invalid = sum(1 for i in items if i.kind == INVALID_EMAIL)
    done = all(i.ok for i in items)
    parts = [
        f"{count[INVITED]} invited",
        f"{count[ALREADY] + count[IN_CHANNEL]} already",
        f"{failed} failed",
        f"{invalid} invalid",
    ]
    where = f"channel {channel}" if channel else "no channel"
    return f"{partner_key}: {where}; {', '.join(parts)}: {'done' if done else 'NOT done'}"


# --- who may ---------------------------------------------------------------------------

CONNECT, INVITE_MORE = "connect", "invite_more"


def may_connect(viewer: Viewer, manager_slack_id: str | None) -> bool:
    """The partner's manager, or an admin (bot.domain.access.manages_partner)."""
    return manages_partner(viewer, manager_slack_id)


def offer(conn: Connection, viewer: Viewer, partner_key: str) -> str | None:
    """The button the partner's card shows this viewer: "Connect on Slack" while the
    partner has no channel, "Invite more people" once it has one; none to anyone else."""
    found = invites.partner_channel(conn, partner_key)
    if found is None or not may_connect(viewer, found.manager_slack_id):
        return None
    return INVITE_MORE if found.channel_id else CONNECT


def authorise(conn: Connection, viewer: Viewer, partner_key: str) -> invites.PartnerChannel | None:
    """The partner, if this viewer may connect it (asked again on every submission)."""
    found = invites.partner_channel(conn, partner_key)
    if found is None or not may_connect(viewer, found.manager_slack_id):
        return None
    return found


# --- what Slack's events change ----------------------------------------------------------


def accepted(
    conn: Connection,
    *,
    invite_id: str | None,
    channel_id: str | None,
    recipient_email: str | None,
    user_id: str | None,
    team_id: str | None,
    host_team_id: str | None,
    now: datetime,
) -> bool:
    """`shared_channel_invite_accepted`: the invitation is accepted by this user of this
    team; the team becomes the partner's (unless it is the vendor's own, or someone
    else's); the rep with the invited address is linked to the Slack account; the user is
    a member of the channel. False (nothing written) for an invitation we never sent."""
    found = invites.find(conn, invite_id, channel_id, recipient_email)
    if found is None or not user_id:
        return False
    invites.mark_accepted(conn, found.id, user_id, team_id, now)
    if team_id and team_id != host_team_id and team_id not in teams.vendor_team_ids(conn):
        teams.link_partner(conn, team_id, found.partner_key, now)
    email = normalise_email(recipient_email or found.email)
    invites.link_rep(conn, found.partner_id, email, user_id, team_id)
    invites.add_member(conn, found.channel_id, user_id, team_id, now)
    return True


def declined(
    conn: Connection,
    *,
    invite_id: str | None,
    channel_id: str | None,
    recipient_email: str | None,
    now: datetime,
) -> bool:
    found = invites.find(conn, invite_id, channel_id, recipient_email)
    if found is None:
        return False
    invites.mark_declined(conn, found.id, now)
    return True


def joined(
    conn: Connection,
    channel_id: str | None,
    user_id: str | None,
    team_id: str | None,
    now: datetime,
) -> bool:
    """`member_joined_channel`: in a partner's channel, the user is a member."""
    if not channel_id or not user_id or not invites.is_partner_channel(conn, channel_id):
        return False
    invites.add_member(conn, channel_id, user_id, team_id, now)
    return True
