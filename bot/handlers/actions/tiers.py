"""Promote / Keep on the weekly scorecard's tier check (bot.domain.tier_review).

parse → decide (authorised again: the partner's manager or an admin) → answer that item
in place. A replayed press, or the other button after the first, changes nothing and says
so; the decision itself is bot.store.tier_decisions'.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain import tier_review
from bot.handlers.actions.alerts import _answer_item
from bot.handlers.context import AppContext, teams_of
from bot.slack.ids import TIER_PROMOTE
from bot.slack.messages import render_message
from bot.slack.send import update_in_place
from bot.store.partners import partner_names

RESULTS = {"denied": "not_yours", "already": "already_decided", "stale": "tier_stale",
           "unknown": "gone"}  # fmt: skip


def handle_tier(
    ctx: AppContext, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
) -> None:
    ack()
    user = body["user"]["id"]
    viewer, locale = ctx.who(client, user, teams_of(body))
    press = tier_review.parse_press(str(action.get("value") or ""))
    if press is None:
        update_in_place(body, render_message("action_result", locale, kind="gone"), False)
        return
    decision = tier_review.PROMOTE if action["action_id"] == TIER_PROMOTE else tier_review.KEEP
    with ctx.engine.begin() as conn:
        outcome = tier_review.decide(conn, press, decision, viewer, ctx.clock())
        name = partner_names(conn, [press.partner]).get(press.partner, press.partner)
    if outcome != "done":
        update_in_place(body, render_message("action_result", locale, kind=RESULTS[outcome]), False)
        return
    promoted = decision == tier_review.PROMOTE
    result = render_message(
        "action_result",
        locale,
        kind="tier_promoted" if promoted else "tier_kept",
        user=user,
        partner=name,
        tier=press.to_tier if promoted else press.from_tier,
    )
    if not _answer_item(body, action, result):
        update_in_place(body, result, replace=True)
