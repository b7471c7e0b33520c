"""Job `partner-digests`: each partner's weekly digest in its own shared channel, on the
partner's own Monday morning, once per partner per local ISO week (the ledger key
`partner-digests:<partner>:<ISO week>`).

The schedule ticks hourly around Monday (PRM_PARTNER_DIGEST_CRON); a partner is due from
PRM_PARTNER_DIGEST_HOUR on Monday in its own zone (`partner.timezone`, else PRM_TIMEZONE),
never in quiet hours — timed as the weekly scorecards are (`scorecards.due`). A run by
hand sends now, whatever the hour: the person running it decided (as *Nudge now* does).
Only partners with a shared channel get one; it is posted with the token of the workspace
the channel lives in. What it holds, and what it never holds: bot.domain.partner_digest.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from functools import partial

from sqlalchemy import Connection

from bot.core import numbers
from bot.domain.nudges import facts as facts_mod
from bot.domain.nudges.fatigue import QuietHours, in_holdout, zone
from bot.domain.nudges.rules import load_rules
from bot.domain.partner_digest import digest, digest_partners
from bot.jobs.context import JobContext
from bot.jobs.scorecards import due, week_label
from bot.jobs.send import deliver
from bot.kpi.params import KpiParams, Scope, params_from_settings
from bot.slack import recipients
from bot.slack.messages import pick_locale, render_message
from bot.store import ledger, teams

JOB = "partner-digests"
KIND = "partner_digest"


def run(ctx: JobContext) -> None:
    s = ctx.settings
    quiet = QuietHours.parse(s.quiet_hours)
    params = params_from_settings(s, as_of=ctx.now)
    rules = load_rules(s.nudge_rules or None)
    with ctx.engine.connect() as conn:
        partners = digest_partners(conn, params)
        # Read once: a rerun skips the partners served this (local) week before computing.
        done = ledger.taken(conn, JOB, ctx.now - timedelta(days=8))
        removed = teams.removed_team_ids(conn)
    history = guides = None
    for partner in partners:
        if not partner.channel:
            ctx.count("skipped:no_channel")
            continue
        if partner.channel_team in removed:
            ctx.count("skipped:uninstalled")  # the partner's workspace removed the bot
            continue
        tz = zone(partner.timezone, s.tz)
        # By hand it is a person's decision to post now (as *Nudge now*): no quiet hours.
        if ctx.scheduled and not due(ctx.now, tz, s.partner_digest_hour, quiet, True):
            ctx.count("skipped:not_now")
            continue
        key = f"{JOB}:{partner.key}:{week_label(ctx.now, tz)}"
        if done.get(key, {}).get("status", ledger.RETRY) != ledger.RETRY:
            ctx.count("duplicate")  # sent (or failed for good, or in flight) this week
            continue
        with ctx.engine.connect() as conn:
            if history is None or guides is None:  # only once someone is due
                history = facts_mod.past_nudges(conn, ctx.now)
                guides = facts_mod.onboarding_assets(conn, ctx.now, 1_000)
            data = digest(
                conn,
                params,
                partner,
                rules=rules,
                history=history,
                guides=guides,
                now=ctx.now,
                stop_after=s.nudge_stop_after,
                in_holdout=partial(in_holdout, salt=s.holdout_salt, share=s.holdout_share),
            )
            locale = _channel_locale(ctx, conn, params, partner.key)
        entry = ledger.Entry(key=key, job=JOB, kind=KIND, recipient=partner.channel)
        message = render_message(
            "partner_digest",
            locale,
            digest=data,
            tz=tz,
            money=partial(numbers.money, currency=s.currency, locale=locale),
        )
        deliver(
            ctx,
            entry,
            message,
            {"channel": partner.channel},
            label=f"{partner.key} · {data['steps']['total']} next steps",
            team=partner.channel_team,
        )


def _channel_locale(ctx: JobContext, conn: Connection, params: KpiParams, partner_key: str) -> str:
    """The language most of the partner's reps read (their stored locale, else the Slack
    locale already known), the default on a tie: as the batched channel nudges choose."""
    default = ctx.settings.default_locale
    people = facts_mod.reps(conn, replace(params, scope=Scope(partner_key=partner_key)))
    known = recipients.known(ctx.engine, [r.slack_user_id for r in people if r.slack_user_id])
    votes = Counter(
        pick_locale(r.locale, (known.get(r.slack_user_id or "") or {}).get("locale"), default)
        for r in people
    )
    if not votes:
        return default
    best = max(votes.values())
    return default if votes.get(default) == best else votes.most_common(1)[0][0]
