"""The "Connect on Slack" / "Invite more people" button on a partner's card, and its form.

The button's value is only the partner's key: the press and the submission are each
authorised again (the partner's manager, or an admin: bot.domain.connect), so a replayed
or forged submission from anyone else does nothing. The submission runs the same service
as `prm partners connect` (bot.slack.connect) and answers the person in a DM, owed in the
ledger under the submission's key (a replay owes nothing twice).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain import connect as rules
from bot.handlers.context import AppContext, team_of, teams_of
from bot.handlers.registration import submission_key
from bot.slack import connect as service
from bot.slack.connect_modal import MAX_ADDRESSES, connect_modal, error_text, submitted
from bot.slack.delivery import post_payload
from bot.slack.dispatch import Modal, open_modal
from bot.slack.ids import CONNECT_EMAILS
from bot.slack.messages import render_message
from bot.slack.outbox import send_now
from bot.slack.send import update_in_place
from bot.store import ledger
from bot.store.engine import unavailable

log = logging.getLogger(__name__)

JOB = "partners"
RETRY_FOR = timedelta(hours=12)


def _refusal(locale: str) -> Any:
    return render_message("partner_connect", locale, view="refused", partner="", lines=[])


def handle_connect_open(
    ctx: AppContext, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
) -> None:
    ack()
    user = body["user"]["id"]
    viewer, locale = ctx.who(client, user, teams_of(body))
    with ctx.engine.connect() as conn:
        partner = rules.authorise(conn, viewer, str(action.get("value") or ""))
    if partner is None:
        update_in_place(body, _refusal(locale), replace=False)
        return
    offer = rules.INVITE_MORE if partner.channel_id else rules.CONNECT
    view = connect_modal(locale, partner.key, partner.name, offer)
    refusal = open_modal(client, body.get("trigger_id", ""), Modal(view), locale)
    if refusal is not None:
        update_in_place(body, refusal, replace=False)


def handle_connect_submit(
    ctx: AppContext, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
) -> None:
    """Everything that can refuse is checked before the ack, so the form stays open with
    the reason on it; after the ack, the outcome comes as a DM."""
    user = body["user"]["id"]
    key, typed, limited = submitted(view)
    try:
        viewer, locale = ctx.who(client, user, teams_of(body))
        with ctx.engine.connect() as conn:
            partner = rules.authorise(conn, viewer, key) if key else None
    except Exception as exc:
        if not unavailable(exc):
            raise
        away = render_message("unavailable", ctx.locales.locale_for(client, user, None)).text
        ack(response_action="errors", errors={CONNECT_EMAILS: away[:150]})
        return
    if partner is None:
        log.info("connect submission by %s for %r refused", user, key)
        ack(response_action="errors", errors={CONNECT_EMAILS: _refusal(locale).text[:150]})
        return
    addresses = rules.split_addresses(typed)
    bad = [a for a in addresses if not rules.valid_email(a)]
    problem = None
    if not addresses:
        problem = error_text(locale, "required")
    elif bad:
        problem = error_text(locale, "invalid", bad)
    elif len(addresses) > MAX_ADDRESSES:
        problem = error_text(locale, "too_many")
    if problem is not None:
        ack(response_action="errors", errors={CONNECT_EMAILS: problem})
        return
    ack()
    now, wall = ctx.clock(), ctx.wall()
    result = service.connect(
        ctx.engine, ctx.clients.vendor() or client, partner.key, addresses,
        limited=limited, now=now, wall=wall,
    )  # fmt: skip
    log.info("connect %s by %s: %s", partner.key, user, result.summary())
    reply = render_message(
        "partner_connect", locale, view="result", partner=partner.name, lines=result.lines
    )
    entry = ledger.Entry(
        key=f"{JOB}:connect:{submission_key(view)}", job=JOB, kind="connect_result",
        recipient=user,
    )  # fmt: skip
    payload = post_payload(reply, {"user": user}, team_of(body))
    with ctx.engine.begin() as conn:
        owed = ledger.enqueue(conn, entry, payload, now, wall, wall + RETRY_FOR)
    if owed:
        send_now(ctx.engine, client, [entry.key], now=now, wall=wall)
