"""The registration flow's Slack side: open the modal, store on submit, route the deal to
its partner manager, decide, tell the rep. Decisions and rules live in bot.registrations.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot import registrations as regs
from bot.handlers.context import AppContext
from bot.handlers.send import update_in_place
from bot.i18n import render_message
from bot.jobs import recipients
from bot.kpi.sql import U
from bot.render.modals import error_texts, form_values, register_modal, reject_modal
from bot.slack_meta import REG_APPROVE, REG_REJECT, REG_WON, REJECT_REASON

log = logging.getLogger(__name__)
IDS = {"approve": REG_APPROVE, "reject": REG_REJECT, "won": REG_WON}


def open_register(ctx: AppContext, client: WebClient, user: str, kind: str, trigger_id: str):
    """Returns None when the modal opened, else the reply to show instead."""
    viewer, locale = ctx.who(client, user)
    if viewer.rep is None:
        return render_message("action_result", locale, kind="register_not_rep")
    try:
        client.views_open(trigger_id=trigger_id, view=register_modal(kind, locale))
    except SlackApiError as exc:
        log.error("views.open failed: %s", exc.response.get("error"))
        return render_message("action_result", locale, kind="modal_failed")
    return None


def handle_register_submit(
    ctx: AppContext, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
) -> None:
    user = body["user"]["id"]
    kind = json.loads(view.get("private_metadata") or "{}").get("kind", "lead")
    viewer, locale = ctx.who(client, user)
    now = ctx.clock()
    if viewer.rep is None or kind not in regs.KINDS:
        ack(
            response_action="errors",
            errors={
                "company": render_message("action_result", locale, kind="register_not_rep").text
            },
        )
        return
    form, errors = regs.validate(kind, form_values(view), now.astimezone(ctx.settings.tz).date())
    if form is None:
        ack(response_action="errors", errors=error_texts(locale, errors))
        return
    ack()  # closes the modal; the rest is messages
    with ctx.engine.begin() as conn:
        user_id = conn.execute(select(U.c.id).where(U.c.key == viewer.rep.key)).scalar_one()
        reg = regs.register(conn, user_id, form, now, ctx.settings.conflict_days)
    _dm(
        ctx,
        client,
        user,
        render_message(
            "registration", locale, view="confirm", reg=reg, ids=IDS, tz=ctx.settings.tz
        ),
    )
    if kind == "deal":
        _send_card(ctx, client, reg)


def _send_card(ctx: AppContext, client: WebClient, reg: dict) -> None:
    manager = reg["manager_slack_id"]
    if not manager:
        log.warning(
            "deal %s: partner %s has no manager to approve it", reg["id"], reg["partner_key"]
        )
        return
    locale = ctx.locales.locale_for(client, manager, None)
    message = render_message(
        "registration", locale, view="card", reg=reg, ids=IDS, tz=ctx.settings.tz
    )
    posted = _dm(ctx, client, manager, message)
    if posted:
        with ctx.engine.begin() as conn:
            conn.execute(
                regs.R.update()
                .where(regs.R.c.id == reg["id"])
                .values(card_channel=posted[0], card_ts=posted[1])
            )


def _update_card(ctx: AppContext, client: WebClient, reg: dict) -> None:
    if not (reg.get("card_channel") and reg.get("card_ts")):
        return
    locale = ctx.locales.locale_for(client, reg["manager_slack_id"] or "", None)
    message = render_message(
        "registration", locale, view="card", reg=reg, ids=IDS, tz=ctx.settings.tz
    )
    try:
        client.chat_update(
            channel=reg["card_channel"], ts=reg["card_ts"], text=message.text, blocks=message.blocks
        )
    except SlackApiError as exc:
        log.error("chat.update of deal card %s failed: %s", reg["id"], exc.response.get("error"))


def _dm(ctx: AppContext, client: WebClient, user: str, message) -> tuple[str, str] | None:
    try:
        channel = recipients.dm_channel(
            ctx.engine, client, user, recipients.known(ctx.engine, [user]).get(user)
        )
        response = client.chat_postMessage(
            channel=channel, text=message.text, blocks=message.blocks
        )
    except SlackApiError as exc:
        log.error("DM to %s failed: %s", user, exc.response.get("error"))
        return None
    return channel, str(response.get("ts"))


def _tell_rep(ctx: AppContext, client: WebClient, reg: dict, view: str) -> None:
    if not reg.get("rep_slack"):
        return
    _, locale = ctx.who(client, reg["rep_slack"])
    _dm(
        ctx,
        client,
        reg["rep_slack"],
        render_message("registration", locale, view=view, reg=reg, ids=IDS, tz=ctx.settings.tz),
    )


def handle_approve(
    ctx: AppContext, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
) -> None:
    ack()
    user = body["user"]["id"]
    try:
        with ctx.engine.begin() as conn:
            reg = regs.decide(
                conn,
                int(action.get("value") or 0),
                user,
                ctx.settings.admins,
                ctx.clock(),
                approve=True,
                expiry_days=ctx.settings.registration_expiry_days,
            )
    except regs.DecisionError as exc:
        _refuse(ctx, client, body, user, str(exc))
        return
    _update_card(ctx, client, reg)
    _tell_rep(ctx, client, reg, "decided")


def handle_reject_open(
    ctx: AppContext, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
) -> None:
    ack()
    user = body["user"]["id"]
    reg_id = int(action.get("value") or 0)
    with ctx.engine.connect() as conn:
        try:
            regs.pending_for_manager(conn, reg_id, user, ctx.settings.admins)
        except regs.DecisionError as exc:
            _refuse(ctx, client, body, user, str(exc))
            return
    _, locale = ctx.who(client, user)
    try:
        client.views_open(trigger_id=body["trigger_id"], view=reject_modal(locale, reg_id))
    except SlackApiError as exc:
        log.error("views.open (reject) failed: %s", exc.response.get("error"))


def handle_reject_submit(
    ctx: AppContext, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
) -> None:
    user = body["user"]["id"]
    _, locale = ctx.who(client, user)
    reason = (form_values(view).get(REJECT_REASON) or "").strip()
    if not reason:
        ack(response_action="errors", errors=error_texts(locale, {REJECT_REASON: "required"}))
        return
    ack()
    reg_id = int(json.loads(view.get("private_metadata") or "{}").get("id", 0))
    try:
        with ctx.engine.begin() as conn:
            reg = regs.decide(
                conn,
                reg_id,
                user,
                ctx.settings.admins,
                ctx.clock(),
                approve=False,
                reason=reason[:1000],
            )
    except regs.DecisionError as exc:
        log.info("reject of %s by %s refused: %s", reg_id, user, exc)
        return
    _update_card(ctx, client, reg)
    _tell_rep(ctx, client, reg, "decided")


def handle_won(
    ctx: AppContext, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
) -> None:
    ack()
    user = body["user"]["id"]
    try:
        with ctx.engine.begin() as conn:
            reg = regs.mark_won(conn, int(action.get("value") or 0), user, ctx.clock())
    except regs.DecisionError as exc:
        _refuse(ctx, client, body, user, str(exc))
        return
    _, locale = ctx.who(client, user)
    update_in_place(
        body,
        render_message("registration", locale, view="won", reg=reg, ids=IDS, tz=ctx.settings.tz),
        replace=True,
    )
    _update_card(ctx, client, reg)


def _refuse(ctx: AppContext, client: WebClient, body: dict, user: str, reason: str) -> None:
    _, locale = ctx.who(client, user)
    kind = {"not_yours": "not_yours", "gone": "gone"}.get(reason, "already_decided")
    update_in_place(body, render_message("action_result", locale, kind=kind), replace=False)
