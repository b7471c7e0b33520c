"""Job `deal-expiry`: approved deal registrations lapse after PRM_REGISTRATION_EXPIRY_DAYS
unless won; the rep is reminded PRM_EXPIRY_REMINDER_DAYS before, and told when it lapses,
and the manager's approval card says it lapsed. Each message goes through the ledger once
(keyed by registration)."""

from __future__ import annotations

from bot.domain import registrations as regs
from bot.jobs.context import JobContext, locale_for
from bot.jobs.send import deliver
from bot.slack import notices, recipients
from bot.slack.messages import pick_locale
from bot.slack.outbox import send_now
from bot.store import ledger

JOB = "deal-expiry"


def run(ctx: JobContext) -> None:
    s = ctx.settings
    with ctx.engine.connect() as conn:
        expired, soon = regs.expiring(conn, ctx.now, s.expiry_reminder_days)
    for reg_id in expired:
        if not ctx.dry_run:
            _lapse(ctx, reg_id)
        _notify(ctx, reg_id, "expired")
    for reg_id in soon:
        _notify(ctx, reg_id, "reminder")


def _lapse(ctx: JobContext, reg_id: int) -> None:
    """Expire it, and owe the card's update in the same transaction."""
    with ctx.engine.connect() as conn:
        manager, rep = regs.parties(conn, reg_id)
    manager = notices.decider(manager, ctx.settings.admins_in_order)
    cached = recipients.known(ctx.engine, [manager]).get(manager) if manager else None
    audience = notices.Audience(
        manager=manager,
        manager_locale=locale_for(ctx, manager, cached) if manager else ctx.settings.default_locale,
        rep=rep,
        rep_locale=ctx.settings.default_locale,  # the rep hears of it from _notify
        team=None,
        admins=ctx.settings.admins,
        tz=ctx.settings.tz,
    )
    with ctx.engine.begin() as conn:
        if not regs.expire(conn, reg_id):
            return
        keys = notices.on_moved(conn, reg_id, audience, ctx.now, ctx.wall(), tell_rep=False)
    ctx.count("expired")
    if ctx.client is not None:
        send_now(ctx.engine, ctx.client, keys, now=ctx.now, wall=ctx.wall())


def _notify(ctx: JobContext, reg_id: int, view: str) -> None:
    with ctx.engine.connect() as conn:
        reg = regs.card(conn, reg_id)
        rep_locale = regs.rep_locale(conn, reg["user_id"])
    rep = reg.get("rep_slack")
    cached = recipients.known(ctx.engine, [rep]).get(rep) if rep else None
    locale = pick_locale(rep_locale, (cached or {}).get("locale"), ctx.settings.default_locale)
    message = notices.render(view, reg, locale, ctx.settings.tz)
    entry = ledger.Entry(
        key=f"{JOB}:{view}:{reg_id}",
        job=JOB,
        kind=view,
        recipient=rep or reg["rep_key"],
        user_id=reg["user_id"],
    )
    if rep and cached:
        ctx.known[rep] = cached
    to = {"user": rep} if rep else None
    deliver(ctx, entry, message, to, label=f"{reg['company']} ({reg_id})")
