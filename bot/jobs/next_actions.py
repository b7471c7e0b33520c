"""Job `next-actions`: DM each partner rep the one thing that moves them forward.

Runs hourly; a rep is due once their local time has reached PRM_NUDGE_HOUR (outside
quiet hours; a run by hand does not wait for that hour), at most once per
PRM_NUDGE_CAP_DAYS, never after "Stop these tips", and not after PRM_NUDGE_STOP_AFTER
nudges in a row without progress. Holdout reps get the same
decision recorded, and no message. Each nudge is keyed (rep, local day) in the ledger.
Reps reachable only in their partner's shared channel get one batched message per channel
and run (bot.slack.nudges.channel_message), keyed per channel and day.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain.nudges import facts as facts_mod
from bot.domain.nudges.fatigue import QuietHours, in_holdout, local_day, send_window_open, zone
from bot.domain.nudges.plan import decide
from bot.domain.nudges.rules import load_rules
from bot.jobs.context import JobContext
from bot.jobs.send import deliver
from bot.kpi.params import params_from_settings
from bot.slack import recipients
from bot.slack.client import slack_error
from bot.slack.delivery import PERMANENT_ERRORS
from bot.slack.messages import pick_locale
from bot.slack.nudges import (
    BUTTON_ACTIONS,
    ChannelLine,
    channel_key,
    channel_locale,
    channel_message,
    dm_message,
    nudge_key,
    record_members,
)
from bot.store import ledger, teams

log = logging.getLogger(__name__)
JOB = ledger.NUDGE_JOB
__all__ = ["BUTTON_ACTIONS", "JOB", "run"]


def run(ctx: JobContext) -> None:
    s = ctx.settings
    rules = load_rules(s.nudge_rules or None)
    quiet = QuietHours.parse(s.quiet_hours)
    params = params_from_settings(s, as_of=ctx.now)
    with ctx.engine.connect() as conn:
        people = facts_mod.reps(conn, params)
        gaps = facts_mod.tier_gaps(conn, params, people)
        facts = facts_mod.facts(conn, ctx.now, {r.user_id for r in people}, gaps)
        history = facts_mod.past_nudges(conn, ctx.now)
        guides = facts_mod.onboarding_assets(
            conn, ctx.now, max((r.assets for r in rules), default=0)
        )
        # Keys already claimed today (any zone's today lies within the last two days).
        taken = ledger.taken(conn, JOB, ctx.now - timedelta(days=2))
        removed = teams.removed_team_ids(conn)
    cache = ctx.known = recipients.known(
        ctx.engine, [r.slack_user_id for r in people if r.slack_user_id]
    )

    in_channel: dict[str, list[ChannelLine]] = {}
    for rep in people:
        ctx.count("reps")
        decision = decide(
            rep,
            facts[rep.user_id],
            history.get(rep.user_id, []),
            rules,
            ctx.now,
            s.nudge_cap_days,
            s.nudge_stop_after,
        )
        if decision.rule is None:
            ctx.count(str(decision.skip))
            continue
        rule = decision.rule
        if rep.slack_team_id in removed or (rep.partner_channel and rep.channel_team_id in removed):
            # The partner's workspace removed the bot: its people hear nothing more from it.
            ctx.count("skipped:uninstalled")
            continue
        # A DM goes with the rep's own workspace's token; a rep of a workspace the bot is
        # not installed in (an external Slack Connect member) is mentioned in the channel.
        client = ctx.client_for(rep.slack_team_id) if rep.slack_user_id else None
        by_dm = bool(rep.slack_user_id) and (rep.slack_team_id is None or client is not None)
        if not by_dm and not rep.partner_channel:
            _undeliverable(ctx, rep)
            continue

        slack_tz = slack_locale = None
        if by_dm:
            assert rep.slack_user_id is not None
            cached = cache.get(rep.slack_user_id)
            if client is None:  # a dry run without a token: what we know, else defaults
                slack_tz, slack_locale = (cached or {}).get("tz"), (cached or {}).get("locale")
            else:
                try:
                    prof = recipients.profile(
                        ctx.engine,
                        client,
                        rep.slack_user_id,
                        ctx.now,
                        cached,
                        store=not ctx.dry_run,
                        writes=ctx.writes,
                    )
                except (SlackApiError, SlackClientError, OSError) as exc:
                    if not ctx.dry_run:
                        _profile_failed(ctx, rep, rule.id, rule.target, exc)
                    continue
                slack_tz, slack_locale = prof.tz, prof.locale
        tz = zone(slack_tz, s.tz)
        # The hourly schedule sends from PRM_NUDGE_HOUR local time; a run by hand sends now,
        # but never in the recipient's quiet hours.
        send_hour = s.nudge_hour if ctx.scheduled else 0
        if not send_window_open(ctx.now, tz, send_hour, quiet):
            ctx.count("skipped:not_now")
            continue

        entry = ledger.Entry(
            key=nudge_key(rep, local_day(ctx.now, tz)),
            job=JOB,
            kind=ledger.NUDGE,
            recipient=rep.slack_user_id or str(rep.partner_channel),
            user_id=rep.user_id,
            action=rule.id,
            target=rule.target,
        )
        if taken.get(entry.key, {}).get("status", ledger.RETRY) != ledger.RETRY:
            ctx.count("duplicate")  # claimed by an earlier run today: nothing to render
            continue
        if in_holdout(rep.key, s.holdout_salt, s.holdout_share):
            if (
                not ctx.dry_run
                and ledger.claim(ctx.ledger_bind, entry, ctx.now, ctx.run_id, status=ledger.HOLDOUT)
            ) or ctx.dry_run:
                ctx.count("holdout")
            continue

        locale = pick_locale(rep.locale, slack_locale, s.default_locale)
        if not by_dm:
            # A shared channel: one message per channel and run, sent after the DMs.
            assert rep.partner_channel  # else undeliverable, above
            line = ChannelLine(rep, rule, entry.key, locale)
            in_channel.setdefault(rep.partner_channel, []).append(line)
            continue
        message = dm_message(s, rep, rule, guides, locale, facts[rep.user_id].tier_gap)
        deliver(
            ctx,
            entry,
            message,
            {"user": str(rep.slack_user_id)},
            label=f"{rep.key} · {rule.id}",
            team=rep.slack_team_id,
        )

    for channel, lines in in_channel.items():
        _channel(ctx, channel, lines, guides, taken)


def _channel(
    ctx: JobContext,
    channel: str,
    lines: list[ChannelLine],
    guides: list[dict],
    taken: dict[str, dict],
) -> None:
    """The reps reachable only in their partner's shared channel: ONE message for them all,
    keyed per channel and run occurrence (the local day in PRM_TIMEZONE: these reps are
    timed there, and each is due at most once a day). Once it is sent, each rep gets their
    own `sent` row, so caps and nudge_lift count them like everyone else."""
    s = ctx.settings
    entry = ledger.Entry(
        key=channel_key(channel, local_day(ctx.now, s.tz)),
        job=JOB,
        kind="channel_nudge",
        recipient=channel,
    )
    if taken.get(entry.key, {}).get("status", ledger.RETRY) != ledger.RETRY:
        ctx.count("duplicate", len(lines))
        return
    message = channel_message(s, lines, guides, channel_locale(lines, s.default_locale))
    label = f"{channel} · " + ", ".join(f"{ln.rep.key} · {ln.rule.id}" for ln in lines)
    team = lines[0].rep.channel_team_id
    status = deliver(ctx, entry, message, {"channel": channel}, label=label, team=team)
    if status == ledger.SENT:
        record_members(ctx.ledger_bind, lines, channel, ctx.now, ctx.run_id)
        ctx.count("channel_reps", len(lines))


def _undeliverable(ctx: JobContext, rep: facts_mod.Rep) -> None:
    """Recorded once per rep, not every hour: nothing will change until data does."""
    ctx.count("undeliverable")
    if ctx.dry_run:
        ctx.echo(f"× {rep.key}: no Slack id and no partner channel (undeliverable)")
        return
    entry = ledger.Entry(
        key=f"{JOB}:{rep.key}:undeliverable",
        job=JOB,
        kind=ledger.NUDGE,
        recipient=rep.key,
        user_id=rep.user_id,
    )
    if ledger.claim(ctx.ledger_bind, entry, ctx.now, ctx.run_id, status=ledger.UNDELIVERABLE):
        ctx.count("undeliverable:new")


def _profile_failed(
    ctx: JobContext, rep: facts_mod.Rep, action: str, target: str, exc: Exception
) -> None:
    """users.info refused: a permanent error is recorded for the rep; anything else waits."""
    error = slack_error(exc)
    if error not in PERMANENT_ERRORS:
        ctx.count(f"retry:{error}")
        return
    entry = ledger.Entry(
        key=f"{JOB}:{rep.key}:error:{error}",
        job=JOB,
        kind=ledger.NUDGE,
        recipient=str(rep.slack_user_id),
        user_id=rep.user_id,
        action=action,
        target=target,
    )
    delivery_id = ledger.claim(ctx.ledger_bind, entry, ctx.now, ctx.run_id)
    if delivery_id is not None:
        ledger.mark(ctx.ledger_bind, delivery_id, ledger.FAILED, now=ctx.now, error=error)
    ctx.count(f"failed:{error}")
