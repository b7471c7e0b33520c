"""What the app asks of Slack: its command, events and bot scopes.

`manifest.yml`, the OAuth install and the tests all read these, so the scopes the app
requests are exactly the scopes the manifest declares (and the README justifies).
"""

from __future__ import annotations

COMMAND = "/prm"

# Each scope with the reason we need it; the README repeats these reasons.
BOT_SCOPES: dict[str, str] = {
    "commands": "receive the /prm slash command",
    "chat:write": "post answers when a response_url is unavailable; send the jobs' DMs "
    "(nudges, scorecards, alerts) and nudges in a partner channel the bot was invited to",
    "im:write": "open a DM with a rep, manager or CS owner (conversations.open) for the jobs",
    "files:write": "upload the weekly scorecard's chart into the manager's DM",
    "users:read": "read a user's locale and time zone (users.info): language, quiet hours",
    "im:history": "receive the messages people send the bot in its DM (message.im), "
    "to answer them with a pointer to /prm help",
    "channels:manage": "create a partner's public channel (conversations.create, "
    "prm partners connect --public)",
    "groups:write": "create a partner's private channel (conversations.create, "
    "prm partners connect)",
    "conversations.connect:write": "invite a partner's people to its channel over Slack "
    "Connect (conversations.inviteShared)",
    "channels:read": "learn who joins a partner's public channel (member_joined_channel) "
    "and check a channel adopted with --channel (conversations.info)",
    "groups:read": "learn who joins a partner's private channel (member_joined_channel) "
    "and check a channel adopted with --channel (conversations.info)",
}

BOT_EVENTS: tuple[str, ...] = (
    "app_home_opened",
    "message.im",
    # Slack Connect partner channels (docs/partners.md), and the workspaces the bot leaves.
    "shared_channel_invite_accepted",
    "shared_channel_invite_declined",
    "member_joined_channel",
    "app_uninstalled",
    "tokens_revoked",
)

# Action and callback ids: handlers and templates share these names (a typo would
# silently drop a click).
# App Home period buttons re-publish for that period; ids must differ within a block.
HOME_PERIOD = "home_period_"  # + the period, e.g. home_period_30d
HOME_PERIODS: tuple[str, ...] = ("30d", "12w", "3m")

# Nudges (next actions): each button's value is the rep's key.
NUDGE_STOP = "nudge_stop_tips"
NUDGE_REGISTER_LEAD = "nudge_register_lead"
NUDGE_REGISTER_DEAL = "nudge_register_deal"
# Coaching alerts: the value is the alert episode's id.
ALERT_ACK = "alert_ack"
ALERT_SNOOZE = "alert_snooze"
# The manager's worklist (/prm todo): each button's value is the partner's key only; every
# press is authorised again (docs/worklist.md).
WORKLIST_NUDGE = "worklist_nudge"
WORKLIST_HAND_CS = "worklist_hand_cs"
WORKLIST_SNOOZE = "worklist_snooze"
WORKLIST_OPEN = "worklist_open"
# Link buttons open a URL; Slack still reports the click, which is acknowledged and ignored.
LINK_PREFIX = "link_"

# Lead and deal registration. NUDGE_REGISTER_LEAD / NUDGE_REGISTER_DEAL (nudges, App Home)
# open the registration modal.
REGISTER_VIEW = "register_submit"  # callback id; private_metadata: {"kind": "lead"|"deal"}
REGISTER_FIELDS: tuple[str, ...] = (
    "company",
    "email_domain",
    "contact",
    "amount",
    "currency",
    "expected_close",
    "notes",
)  # block ids; each input's action id is "value"
REG_APPROVE = "reg_approve"  # value: registration id
REG_REJECT = "reg_reject"  # opens REJECT_VIEW
REJECT_VIEW = "reg_reject_submit"  # private_metadata: {"id": registration id}
REJECT_REASON = "reason"  # block id of the rejection reason
REG_WON = "reg_won"  # the rep marks the deal won

# Partner channels over Slack Connect (docs/partners.md): the card's button (value: the
# partner's key; every press and every submission authorised again) opens CONNECT_VIEW.
PARTNER_CONNECT = "partner_connect"
# The weekly scorecard's tier check (bot.domain.tier_review); value: the press as JSON.
TIER_PROMOTE = "tier_promote"
TIER_KEEP = "tier_keep"
CONNECT_VIEW = "partner_connect_submit"  # private_metadata: {"partner": key}
CONNECT_EMAILS = "emails"  # block id of the addresses
CONNECT_ACCESS = "access"  # block id of the limited-access checkbox
CONNECT_LIMITED = "limited"  # the checkbox's value
