"""The registration flow's Slack side: open the modal, store on submit, decide, mark won.

Each handler parses, asks bot.domain.registrations to make the change, and in the same
transaction owes the messages about it (bot.slack.notices); once committed, they
go out through the ledger (bot.slack.outbox), which retries what Slack did not get.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain import registrations as regs
from bot.handlers.context import AppContext, Teams, team_of, teams_of
from bot.slack import notices
from bot.slack.blocks import Rendered
from bot.slack.client import slack_error
from bot.slack.dispatch import Modal, open_modal, register_reply
from bot.slack.ids import REJECT_REASON
from bot.slack.messages import render_message
from bot.slack.modals import error_texts, form_values, reject_modal
from bot.slack.outbox import send_now
from bot.slack.send import update_in_place
from bot.store.engine import unavailable

log = logging.getLogger(__name__)


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    """A modal's private_metadata as we wrote it; {} for anything else (a forged or
    garbled value is a refusal, never a crash)."""
    try:
        value = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def as_id(value: Any) -> int | None:
    """A registration id from a button value or metadata: a positive integer, else None."""
    text = str(value if value is not None else "").strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 18 else None


def submission_key(view: dict[str, Any]) -> str:
    """The modal and what was typed into it: the same submission sent twice (a replay,
    Slack retrying) has the same key; a corrected resubmission after errors does not."""
    state = json.dumps(view.get("state", {}).get("values") or {}, sort_keys=True)
    digest = hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{str(view.get('id') or '')[:64]}:{digest}"


def open_register(
    ctx: AppContext,
    client: WebClient,
    user: str,
    kind: str,
    trigger_id: str,
    teams: Teams = (None, None),
) -> Rendered | None:
    """The Register buttons: None when the modal opened, else the reply to show instead
    (the same decision as `/prm register`, bot.slack.dispatch.register_reply)."""
    viewer, locale = ctx.who(client, user, teams)
    reply = register_reply(viewer, kind, locale)
    return open_modal(client, trigger_id, reply, locale) if isinstance(reply, Modal) else reply


def _audience(ctx: AppContext, client: WebClient, body: dict, reg_id: int) -> notices.Audience:
    """Who reads about this registration, and in which language (asks Slack, so outside
    any transaction)."""
    with ctx.engine.connect() as conn:
        manager, rep = regs.parties(conn, reg_id)
    return _audience_of(ctx, client, body, manager, rep)


def _audience_of(
    ctx: AppContext, client: WebClient, body: dict, manager: str | None, rep: str | None
) -> notices.Audience:
    default = ctx.settings.default_locale
    manager = notices.decider(manager, ctx.settings.admins_in_order)
    return notices.Audience(
        manager=manager,
        manager_locale=ctx.locales.locale_for(client, manager, None) if manager else default,
        rep=rep,
        rep_locale=ctx.who(client, rep)[1] if rep else default,
        team=team_of(body),
        admins=ctx.settings.admins,
        tz=ctx.settings.tz,
    )


def _send(ctx: AppContext, client: WebClient, keys: list[str]) -> None:
    send_now(ctx.engine, client, keys, now=ctx.clock(), wall=ctx.wall())


def handle_register_submit(
    ctx: AppContext, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
) -> None:
    user = body["user"]["id"]
    kind = metadata(view).get("kind")
    try:
        viewer, locale = ctx.who(client, user, teams_of(body))
    except Exception as exc:
        if not unavailable(exc):
            raise
        # Keep the form open with what was typed, and say why nothing was stored.
        away = render_message("unavailable", ctx.locales.locale_for(client, user, None)).text
        ack(response_action="errors", errors={"company": away})
        return
    now = ctx.clock()
    if viewer.rep is None or kind not in regs.KINDS:
        refusal = render_message("action_result", locale, kind="register_not_rep").text
        ack(response_action="errors", errors={"company": refusal})
        return
    form, errors = regs.validate(kind, form_values(view), now.astimezone(ctx.settings.tz).date())
    if form is None:
        ack(response_action="errors", errors=error_texts(locale, errors))
        return
    ack()  # closes the modal; the rest is messages
    with ctx.engine.connect() as conn:
        manager = regs.partner_manager(conn, viewer.rep.partner_key)
    audience = _audience_of(ctx, client, body, manager, user)
    with ctx.engine.begin() as conn:
        user_id = regs.rep_id(conn, viewer.rep.key)
        key = submission_key(view)
        reg_id = regs.register(conn, user_id, form, now, ctx.settings.conflict_days, key)
        if reg_id is None:
            log.info("registration submission %s seen before: nothing stored", key)
            return
        keys = notices.on_registered(conn, reg_id, audience, now, ctx.wall())
    _send(ctx, client, keys)


def _decide(
    ctx: AppContext,
    client: WebClient,
    body: dict[str, Any],
    reg_id: int,
    *,
    approve: bool,
    reason: str | None = None,
) -> None:
    user = body["user"]["id"]
    audience = _audience(ctx, client, body, reg_id)
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        regs.decide(
            conn,
            reg_id,
            user,
            ctx.settings.admins,
            now,
            approve=approve,
            reason=reason,
            expiry_days=ctx.settings.registration_expiry_days,
        )
        keys = notices.on_moved(conn, reg_id, audience, now, ctx.wall(), tell_rep=True)
    _send(ctx, client, keys)


def handle_approve(
    ctx: AppContext, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
) -> None:
    ack()
    user = body["user"]["id"]
    reg_id = as_id(action.get("value"))
    try:
        if reg_id is None:
            raise regs.DecisionError("gone")
        _decide(ctx, client, body, reg_id, approve=True)
    except regs.DecisionError as exc:
        _refuse(ctx, client, body, user, str(exc))


def handle_reject_open(
    ctx: AppContext, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
) -> None:
    ack()
    user = body["user"]["id"]
    reg_id = as_id(action.get("value"))
    try:
        if reg_id is None:
            raise regs.DecisionError("gone")
        with ctx.engine.connect() as conn:
            regs.pending_for_manager(conn, reg_id, user, ctx.settings.admins)
    except regs.DecisionError as exc:
        _refuse(ctx, client, body, user, str(exc))
        return
    _, locale = ctx.who(client, user)
    try:
        client.views_open(trigger_id=body.get("trigger_id", ""), view=reject_modal(locale, reg_id))
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.error("views.open (reject) failed: %s", slack_error(exc))
        update_in_place(body, render_message("action_result", locale, kind="modal_failed"), False)


def handle_reject_submit(
    ctx: AppContext, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
) -> None:
    """Everything that can refuse is checked before the ack, so that a refusal (no reason,
    decided meanwhile, the database away) keeps the form open with the reason on it."""
    user = body["user"]["id"]
    reason = regs.clean_text(form_values(view).get(REJECT_REASON))
    reg_id = as_id(metadata(view).get("id"))
    try:
        _, locale = ctx.who(client, user)
        if not reason:
            ack(response_action="errors", errors=error_texts(locale, {REJECT_REASON: "required"}))
            return
        if reg_id is None:
            raise regs.DecisionError("gone")
        with ctx.engine.connect() as conn:
            regs.pending_for_manager(conn, reg_id, user, ctx.settings.admins)
    except regs.DecisionError as exc:
        refusal = render_message("action_result", locale, kind=_refusal(str(exc))).text
        ack(response_action="errors", errors={REJECT_REASON: refusal})
        return
    except Exception as exc:
        if not unavailable(exc):
            raise
        away = render_message("unavailable", ctx.locales.locale_for(client, user, None)).text
        ack(response_action="errors", errors={REJECT_REASON: away})
        return
    ack()
    assert reg_id is not None
    try:
        _decide(ctx, client, body, reg_id, approve=False, reason=reason[:1000])
    except regs.DecisionError as exc:  # decided in the moment since the check above
        log.info("reject of %s by %s refused: %s", reg_id, user, exc)


def handle_won(
    ctx: AppContext, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
) -> None:
    ack()
    user = body["user"]["id"]
    reg_id = as_id(action.get("value"))
    try:
        if reg_id is None:
            raise regs.DecisionError("gone")
        audience = _audience(ctx, client, body, reg_id)
        now = ctx.clock()
        with ctx.engine.begin() as conn:
            regs.mark_won(conn, reg_id, user, now)
            keys = notices.on_moved(conn, reg_id, audience, now, ctx.wall(), tell_rep=False)
            reg = regs.card(conn, reg_id)
    except regs.DecisionError as exc:
        _refuse(ctx, client, body, user, str(exc))
        return
    won = notices.render("won", reg, audience.rep_locale, ctx.settings.tz)
    update_in_place(body, won, replace=True)
    _send(ctx, client, keys)


REFUSALS = {"not_yours", "gone", "not_approved"}


def _refusal(reason: str) -> str:
    return reason if reason in REFUSALS else "already_decided"


def _refuse(ctx: AppContext, client: WebClient, body: dict, user: str, reason: str) -> None:
    _, locale = ctx.who(client, user)
    update_in_place(body, render_message("action_result", locale, kind=_refusal(reason)), False)
