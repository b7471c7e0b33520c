"""Job `deal-expiry`: approved deal registrations lapse after PRM_REGISTRATION_EXPIRY_DAYS
unless won; the rep is reminded PRM_EXPIRY_REMINDER_DAYS before, and told when it lapses.
Each notice goes through the ledger once (keyed by registration)."""

from __future__ import annotations

from sqlalchemy import select

from bot import registrations as regs
from bot.i18n import pick_locale, render_message
from bot.jobs import ledger, recipients
from bot.jobs.context import JobContext
from bot.jobs.deliver import Undeliverable, deliver
from bot.kpi.sql import U
from bot.slack_meta import REG_APPROVE, REG_REJECT, REG_WON

JOB = "deal-expiry"
IDS = {"approve": REG_APPROVE, "reject": REG_REJECT, "won": REG_WON}


def run(ctx: JobContext) -> None:
    s = ctx.settings
    with ctx.engine.connect() as conn:
        expired, soon = regs.expiring(conn, ctx.now, s.expiry_reminder_days)
    for reg_id in expired:
        if not ctx.dry_run:
            with ctx.engine.begin() as conn:
                if regs.expire(conn, reg_id):
                    ctx.count("expired")
        _notify(ctx, reg_id, "expired")
    for reg_id in soon:
        _notify(ctx, reg_id, "reminder")


def _notify(ctx: JobContext, reg_id: int, view: str) -> None:
    with ctx.engine.connect() as conn:
        reg = regs.card(conn, reg_id)
        rep_locale = conn.execute(select(U.c.locale).where(U.c.id == reg["user_id"])).scalar()
    rep = reg.get("rep_slack")
    cached = recipients.known(ctx.engine, [rep]).get(rep) if rep else None
    locale = pick_locale(rep_locale, (cached or {}).get("locale"), ctx.settings.default_locale)
    message = render_message(
        "registration", locale, view=view, reg=reg, ids=IDS, tz=ctx.settings.tz
    )
    entry = ledger.Entry(
        key=f"{JOB}:{view}:{reg_id}",
        job=JOB,
        kind=view,
        recipient=rep or reg["rep_key"],
        user_id=reg["user_id"],
    )

    def channel() -> str:
        if not rep:
            raise Undeliverable("no_slack_id")
        return recipients.dm_channel(ctx.engine, ctx.client, rep, cached, ctx.writes)

    deliver(ctx, entry, message, channel, label=f"{reg['company']} ({reg_id})")
