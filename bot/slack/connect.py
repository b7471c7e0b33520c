"""A partner's channel over Slack Connect, the Slack side (docs/partners.md).

`connect` is what `prm partners connect` and the "Connect on Slack" form both run, with
the vendor's client: make the channel once (`conversations.create`) or adopt one
(`--channel`, checked with `conversations.info`), record it on the partner, owe the
welcome in the ledger (keyed by channel, so it is posted once) and send it, then invite
each address once (`conversations.inviteShared`). The rules are bot.domain.connect's;
the rows bot.store.invites'. Each Slack error becomes one `Line`, never an exception.
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine

from bot.domain import connect as rules
from bot.domain.connect import Line
from bot.slack import blocks
from bot.slack.client import slack_error
from bot.slack.delivery import post_payload
from bot.slack.messages import render
from bot.slack.outbox import send_now
from bot.store import invites, ledger

log = logging.getLogger(__name__)

JOB = "partners"  # the ledger's `job` column for the welcome
WELCOME_RETRY_FOR = timedelta(days=2)
SLACK_FAILURES = (SlackApiError, SlackClientError, OSError, http.client.HTTPException)


class UnknownPartner(LookupError):
    pass


@dataclass
class Result:
    partner_key: str
    partner_name: str
    channel_id: str | None = None
    lines: list[Line] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(line.ok for line in self.lines)

    def summary(self) -> str:
        return rules.summary(self.partner_key, self.channel_id, self.lines)


def welcome_key(channel_id: str) -> str:
    return f"{JOB}:welcome:{channel_id}"


def welcome_message(partner_name: str) -> blocks.Rendered:
    """The welcome in English and in Japanese, one after the other in one message."""
    halves = [render("partner_welcome", locale, partner=partner_name) for locale in ("en", "ja")]
    return blocks.message("\n---\n".join(h.strip() for h in halves))


def connect(
    engine: Engine,
    client: WebClient | None,
    partner_key: str,
    emails: Iterable[str],
    *,
    limited: bool = False,
    public: bool = False,
    channel: str | None = None,
    now: datetime,
    wall: datetime,
) -> Result:
    with engine.connect() as conn:
        partner = invites.partner_channel(conn, partner_key)
    if partner is None:
        raise UnknownPartner(partner_key)
    result = Result(partner.key, partner.name)
    if client is None:
        result.lines.append(Line(rules.NO_CLIENT))
        return result
    channel_id = _channel(engine, client, partner, channel, public, result)
    if channel_id is None:
        return result
    result.channel_id = channel_id
    _welcome(engine, client, partner, channel_id, now, wall, result)
    _invite(engine, client, partner, channel_id, list(emails), limited, now, result)
    return result


def _channel(
    engine: Engine,
    client: WebClient,
    partner: invites.PartnerChannel,
    wanted: str | None,
    public: bool,
    result: Result,
) -> str | None:
    wanted = wanted.strip() if wanted else None
    if partner.channel_id:
        if wanted and wanted != partner.channel_id:
            result.lines.append(Line(rules.CHANNEL_OTHER, channel=partner.channel_id, code=wanted))
            return None
        result.lines.append(Line(rules.CHANNEL_KEPT, channel=partner.channel_id))
        return partner.channel_id
    if wanted:
        try:
            info = client.conversations_info(channel=wanted).get("channel") or {}
        except SLACK_FAILURES as exc:
            result.lines.append(Line(rules.CHANNEL_FAILED, channel=wanted, code=slack_error(exc)))
            return None
        if info.get("is_member") is False:
            result.lines.append(Line(rules.NOT_A_MEMBER, channel=wanted))
            return None
        kind, made = rules.CHANNEL_ADOPTED, wanted
        name = str(info.get("name") or "") or None
    else:
        name = rules.channel_name(partner.key)
        try:
            response = client.conversations_create(name=name, is_private=not public)
        except SLACK_FAILURES as exc:
            result.lines.append(Line(rules.CHANNEL_FAILED, code=slack_error(exc), name=name))
            return None
        made = str((response.get("channel") or {}).get("id") or "")
        if not made:
            result.lines.append(Line(rules.CHANNEL_FAILED, code="no_channel_id", name=name))
            return None
        kind = rules.CHANNEL_CREATED
    with engine.begin() as conn:
        kept = invites.set_channel(conn, partner.id, made)
    if kept != made:  # someone connected it in the meantime: theirs stands
        log.warning("partner %s got channel %s meanwhile; %s unused", partner.key, kept, made)
        result.lines.append(Line(rules.CHANNEL_KEPT, channel=kept))
        return kept
    result.lines.append(Line(kind, channel=made, name=name))
    return made


def _welcome(
    engine: Engine,
    client: WebClient,
    partner: invites.PartnerChannel,
    channel_id: str,
    now: datetime,
    wall: datetime,
    result: Result,
) -> None:
    key = welcome_key(channel_id)
    payload = post_payload(welcome_message(partner.name), {"channel": channel_id})
    entry = ledger.Entry(key=key, job=JOB, kind="welcome", recipient=channel_id)
    with engine.begin() as conn:
        ledger.enqueue(conn, entry, payload, now, wall, wall + WELCOME_RETRY_FOR)
    outcomes = send_now(engine, client, [key], now=now, wall=wall)
    if outcomes:
        outcome = outcomes[0]
        if outcome.status == ledger.SENT:
            result.lines.append(Line(rules.WELCOME_POSTED, channel=channel_id))
        elif outcome.status in (ledger.RETRY, ledger.QUEUED):
            result.lines.append(Line(rules.WELCOME_OWED, channel=channel_id, code=outcome.error))
        else:
            result.lines.append(Line(rules.WELCOME_FAILED, channel=channel_id, code=outcome.error))
        return
    with engine.connect() as conn:
        status = ledger.status_of(conn, key)
    if status == ledger.SENT:
        result.lines.append(Line(rules.WELCOME_ALREADY, channel=channel_id))
    elif status in (ledger.FAILED, ledger.UNDELIVERABLE):
        result.lines.append(Line(rules.WELCOME_FAILED, channel=channel_id, code=status))
    else:  # being sent by someone else, waiting for a retry, or in doubt: not posted twice
        result.lines.append(Line(rules.WELCOME_OWED, channel=channel_id, code=status))


ALREADY_IN = "already_in_channel"


def _invite(
    engine: Engine,
    client: WebClient,
    partner: invites.PartnerChannel,
    channel_id: str,
    emails: list[str],
    limited: bool,
    now: datetime,
    result: Result,
) -> None:
    with engine.connect() as conn:
        existing = invites.statuses(conn, partner.id)
    for step in rules.plan_invites(emails, existing):
        if step.action == rules.INVALID:
            result.lines.append(Line(rules.INVALID_EMAIL, email=step.email))
            continue
        if step.action == rules.SKIP:
            result.lines.append(Line(rules.ALREADY, email=step.email, code=step.status))
            continue
        with engine.begin() as conn:
            mine = invites.claim(conn, partner.id, step.email, channel_id, limited, now)
        if not mine:  # another run took it a moment ago
            result.lines.append(Line(rules.ALREADY, email=step.email, code=rules.PENDING))
            continue
        try:
            # Slack's default for external_limited is true: always say which one we mean.
            response = client.conversations_inviteShared(
                channel=channel_id,
                emails=[step.email],
                external_limited="true" if limited else "false",
            )
        except SLACK_FAILURES as exc:
            code = slack_error(exc)
            settled = invites.ACCEPTED if code == ALREADY_IN else invites.FAILED
            with engine.begin() as conn:
                invites.record_failed(conn, partner.id, step.email, code, now, status=settled)
            kind = rules.IN_CHANNEL if code == ALREADY_IN else rules.INVITE_FAILED
            result.lines.append(Line(kind, email=step.email, code=code))
            continue
        invite_id = response.get("invite_id")
        with engine.begin() as conn:
            invites.record_sent(conn, partner.id, step.email, invite_id and str(invite_id), now)
        result.lines.append(Line(rules.INVITED, email=step.email))
