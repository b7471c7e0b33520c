"""The buttons on the manager's worklist (`/prm todo`, App Home, the weekly scorecard):
Nudge now, Hand to CS, Snooze 14 days, Open partner (docs/worklist.md).

Each button's value is only the partner's key. Every press is authorised again (the
presser must have that partner in their book, bot.domain.worklist.act) and recorded;
the messages it causes go through the ledger, keyed so a second press sends nothing.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.core import numbers
from bot.domain import worklist
from bot.domain.nudges.fatigue import local_day
from bot.domain.questions import Question
from bot.handlers.context import AppContext, teams_of
from bot.handlers.events.home import publish_home
from bot.kpi.params import params_from_settings
from bot.slack import replies
from bot.slack.blocks import Rendered
from bot.slack.delivery import post_payload
from bot.slack.dispatch import Modal, open_modal
from bot.slack.ids import WORKLIST_HAND_CS, WORKLIST_NUDGE, WORKLIST_OPEN, WORKLIST_SNOOZE
from bot.slack.messages import render_message
from bot.slack.nudges import nudge_partner
from bot.slack.outbox import send_now
from bot.slack.send import update_in_place
from bot.store import ledger
from bot.store import worklist as recorded

JOB = "worklist"  # the ledger's `job` column for the hand-offs
ACTIONS = {
    WORKLIST_NUDGE: worklist.NUDGE,
    WORKLIST_HAND_CS: worklist.HAND_CS,
    WORKLIST_SNOOZE: worklist.SNOOZE,
    WORKLIST_OPEN: worklist.OPEN,
}
RETRY_FOR = timedelta(hours=12)


def handle_worklist(
    ctx: AppContext, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
) -> None:
    ack()
    user = body["user"]["id"]
    kind = ACTIONS[action["action_id"]]
    partner_key = str(action.get("value", ""))
    viewer, locale = ctx.who(client, user, teams_of(body))
    now, wall = ctx.clock(), ctx.wall()
    s = ctx.settings
    params = params_from_settings(s, as_of=now)
    owed: list[str] = []
    with ctx.engine.connect() as conn:
        outcome, item = worklist.authorise(conn, viewer, partner_key), None
        who = recorded.contacts(conn, partner_key) if outcome is worklist.Outcome.DONE else None
    nobody = kind == worklist.HAND_CS and who is not None and not who.cs_slack_id
    hand_to = who.cs_slack_id if who is not None and kind == worklist.HAND_CS else None
    # The CS owner's language may need Slack: asked before the transaction, not inside it.
    cs_locale = ctx.locales.locale_for(client, hand_to, None) if hand_to else locale
    with ctx.engine.begin() as conn:
        if who is not None and not nobody:  # a hand-off to nobody is not recorded
            outcome, item = worklist.act(
                conn, params, viewer, partner_key, kind, s.worklist_stuck_days, s.activation_days
            )
        if who is not None and hand_to and outcome is worklist.Outcome.DONE:
            # Owed with the record of the hand-off, in its transaction; once per day.
            message = render_message(
                "todo",
                cs_locale,
                view="handoff",
                partner=who.name,
                key=who.key,
                manager=user,
                reasons=list(item.reasons) if item else [],
                pipeline=item.pipeline if item else None,
                money=partial(numbers.money, currency=s.currency, locale=cs_locale),
            )
            entry = ledger.Entry(
                key=f"{JOB}:{user}:{who.key}:hand_cs:{local_day(now, s.tz)}",
                job=JOB,
                kind="handoff",
                recipient=hand_to,
            )
            payload = post_payload(message, {"user": hand_to})
            if ledger.enqueue(conn, entry, payload, now, wall, wall + RETRY_FOR):
                owed.append(entry.key)
    if outcome is not worklist.Outcome.DONE or who is None:
        view = "not_manager" if outcome is worklist.Outcome.NOT_MANAGER else "not_in_book"
        _answer(ctx, client, body, render_message("todo", locale, view=view))
        return
    if kind == worklist.OPEN:
        question = Question("partner", partner=partner_key)
        with ctx.engine.connect() as conn:
            card = replies.command_reply(conn, s, now, viewer, question, locale)
        if not body.get("response_url"):  # App Home: the card opens as a modal
            modal = {
                "type": "modal",
                "title": {"type": "plain_text", "text": "PRM"},
                "blocks": card.blocks[:100],
            }
            open_modal(client, body.get("trigger_id", ""), Modal(modal), locale)
            return
        update_in_place(body, card, replace=False)
        return
    if kind == worklist.SNOOZE:
        reply = render_message(
            "todo", locale, view="snoozed", partner=who.name, days=worklist.SNOOZE_DAYS
        )
    elif kind == worklist.HAND_CS:
        if not who.cs_slack_id:
            reply = render_message("todo", locale, view="no_cs", partner=who.name)
        else:
            send_now(ctx.engine, client, owed, now=now, wall=wall)
            reply = render_message(
                "todo", locale, view="handed", partner=who.name, cs=who.cs_slack_id
            )
    else:
        counts = nudge_partner(ctx.engine, ctx.client_for(client), s, now, wall, partner_key)
        reply = render_message(
            "todo",
            locale,
            view="nudged",
            partner=who.name,
            sent=counts["sent"],
            already=counts["already"],
            held=counts["held"],
        )
    _answer(ctx, client, body, reply)


def _answer(ctx: AppContext, client: WebClient, body: dict[str, Any], reply: Rendered) -> None:
    """The outcome, as an ephemeral note under the message pressed; on App Home (no
    response_url) the Home tab is published again instead, the list as it is now."""
    if body.get("response_url"):
        update_in_place(body, reply, replace=False)
    else:
        publish_home(ctx, client, body["user"]["id"], teams=teams_of(body))
