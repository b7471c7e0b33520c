"""Next-action nudges as Slack messages, for the scheduled job (bot.jobs.next_actions) and
the worklist's "Nudge now" (bot.handlers.actions.worklist) alike: one rep's DM, one
partner channel's batched message, and the decision-and-delivery for one partner's reps.

The decision is the domain's (bot.domain.nudges.plan, with the fatigue rules); the keys
are the job's own (`next-actions:<rep>:<local day>`), so a rep nudged by the schedule and
by a manager on the same day gets one message, and pressing "Nudge now" twice sends
nothing the second time. Reps reachable only in their partner's shared channel get one
message per channel, worded for a shared space (docs/jobs.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine

from bot.core import numbers
from bot.core.settings import Settings
from bot.domain.content import tracked_assets
from bot.domain.nudges import facts as facts_mod
from bot.domain.nudges.fatigue import in_holdout, local_day, zone
from bot.domain.nudges.plan import decide
from bot.domain.nudges.rules import Rule, load_rules
from bot.kpi.params import Scope, params_from_settings
from bot.slack import recipients
from bot.slack.blocks import Rendered
from bot.slack.delivery import post_payload
from bot.slack.ids import NUDGE_REGISTER_DEAL, NUDGE_REGISTER_LEAD, NUDGE_STOP
from bot.slack.messages import pick_locale, render_message
from bot.slack.outbox import send_now
from bot.store import ledger, teams

JOB = ledger.NUDGE_JOB
BUTTON_ACTIONS = {"register_lead": NUDGE_REGISTER_LEAD, "register_deal": NUDGE_REGISTER_DEAL}
RETRY_FOR = timedelta(hours=1)  # as the job's nudges: the next hourly run decides again


@dataclass(frozen=True)
class ChannelLine:
    """One rep's line in their partner channel's batched message."""

    rep: facts_mod.Rep
    rule: Rule
    key: str  # the rep's own ledger key, recorded once the channel message is sent
    locale: str


def links(s: Settings, rep_key: str, assets: list[dict]) -> list[dict]:
    """Tracked links (each open counts as the rep's download) when links can be signed."""
    if not s.secret_key:
        return assets
    return tracked_assets(assets, s.public_url, s.secret_key, rep_key)


def nudge_key(rep: facts_mod.Rep, day: str) -> str:
    """A rep's nudge on one local day: the job and "Nudge now" share it."""
    return f"{JOB}:{rep.key}:{day}"


def channel_key(channel: str, occurrence: str) -> str:
    return f"{JOB}:channel:{channel}:{occurrence}"


def dm_message(
    s: Settings,
    rep: facts_mod.Rep,
    rule: Rule,
    guides: list[dict],
    locale: str,
    tier: dict | None = None,
) -> Rendered:
    """The nudge a rep gets in their DM (`tier`: their partner's gap to the next tier)."""
    return render_message(
        "nudge",
        locale,
        tier=tier,
        money=partial(numbers.money, currency=s.currency, locale=locale),
        rule={"id": rule.id, "target": rule.target},
        rep={"key": rep.key, "name": rep.name, "partner_name": rep.partner_name},
        mention=rep.slack_user_id,
        assets=links(s, rep.key, guides[: rule.assets]),
        portal_url=s.portal_url,
        button=BUTTON_ACTIONS.get(rule.button or ""),
        stop_action=NUDGE_STOP,
    )


def channel_message(
    s: Settings, lines: Sequence[ChannelLine], guides: list[dict], locale: str
) -> Rendered:
    """One message for a partner's shared channel: one line per rep, nothing only the
    vendor should see, nobody singled out for what they have not done."""
    buttons = sorted({r.rule.button for r in lines if r.rule.button in BUTTON_ACTIONS})
    wants_guides = max((ln.rule.assets for ln in lines), default=0)
    return render_message(
        "channel_nudges",
        locale,
        partner=lines[0].rep.partner_name,
        lines=[
            {"name": ln.rep.name, "mention": ln.rep.slack_user_id, "rule": ln.rule.id}
            for ln in lines
        ],
        assets=guides[:wants_guides],
        portal_url=s.portal_url,
        buttons=[BUTTON_ACTIONS[b] for b in buttons if b],
        value=lines[0].rep.partner_key,
    )


def channel_locale(lines: Sequence[ChannelLine], default: str) -> str:
    """The language most of the channel's reps read (the default on a tie)."""
    votes = Counter(ln.locale for ln in lines)
    best = max(votes.values())
    return default if votes.get(default) == best else votes.most_common(1)[0][0]


def nudge_partner(
    engine: Engine,
    client_for: Callable[[str | None], WebClient | None],
    s: Settings,
    now: datetime,
    wall: datetime,
    partner_key: str,
) -> Counter[str]:
    """ "Nudge now": every rep of one partner who is owed a next action gets it, through the
    ledger, with the fatigue rules (cap, stop after, tips off, holdout). Quiet hours are
    the scheduler's rule, not a person's: a manager who presses "Nudge now" has decided
    that now is the time (the reply says how many it reached). `client_for(team)` is the
    client for a workspace (None: the vendor's), None where the bot is not installed.
    Counts `sent`, `already` (nudged today) and `held` (a rule held it back)."""
    rules = load_rules(s.nudge_rules or None)
    params = replace(params_from_settings(s, as_of=now), scope=Scope(partner_key=partner_key))
    with engine.connect() as conn:
        people = facts_mod.reps(conn, params)
        gaps = facts_mod.tier_gaps(conn, params, people)
        facts = facts_mod.facts(conn, now, {r.user_id for r in people}, gaps)
        history = facts_mod.past_nudges(conn, now)
        guides = facts_mod.onboarding_assets(conn, now, max((r.assets for r in rules), default=0))
        removed = teams.removed_team_ids(conn)
    known = recipients.known(engine, [r.slack_user_id for r in people if r.slack_user_id])
    counts: Counter[str] = Counter()
    owed: dict[str | None, list[str]] = {}
    in_channel: dict[str, list[ChannelLine]] = {}
    for rep in people:
        d = decide(
            rep,
            facts[rep.user_id],
            history.get(rep.user_id, []),
            rules,
            now,
            s.nudge_cap_days,
            s.nudge_stop_after,
        )
        client = client_for(rep.slack_team_id) if rep.slack_user_id else None
        by_dm = client is not None
        gone = rep.slack_team_id in removed or rep.channel_team_id in removed
        if d.rule is None or gone or not (by_dm or rep.partner_channel):
            counts["held"] += 1
            continue
        slack_tz = slack_locale = None
        if client is not None and rep.slack_user_id:
            try:
                prof = recipients.profile(
                    engine, client, rep.slack_user_id, now, known.get(rep.slack_user_id)
                )
            except (SlackApiError, SlackClientError, OSError):
                counts["held"] += 1
                continue
            slack_tz, slack_locale = prof.tz, prof.locale
        tz = zone(slack_tz, s.tz)
        key = nudge_key(rep, local_day(now, tz))
        entry = ledger.Entry(
            key=key,
            job=JOB,
            kind=ledger.NUDGE,
            recipient=rep.slack_user_id or str(rep.partner_channel),
            user_id=rep.user_id,
            action=d.rule.id,
            target=d.rule.target,
        )
        with engine.connect() as conn:
            if ledger.status_of(conn, key) is not None:
                counts["already"] += 1
                continue
        if in_holdout(rep.key, s.holdout_salt, s.holdout_share):
            ledger.claim(engine, entry, now, None, status=ledger.HOLDOUT)
            counts["held"] += 1
            continue
        locale = pick_locale(rep.locale, slack_locale, s.default_locale)
        if not by_dm:
            in_channel.setdefault(str(rep.partner_channel), []).append(
                ChannelLine(rep, d.rule, key, locale)
            )
            continue
        message = dm_message(s, rep, d.rule, guides, locale, facts[rep.user_id].tier_gap)
        payload = post_payload(message, {"user": str(rep.slack_user_id)}, rep.slack_team_id)
        with engine.begin() as conn:
            if ledger.enqueue(conn, entry, payload, now, wall, wall + RETRY_FOR):
                owed.setdefault(rep.slack_team_id, []).append(key)
            else:
                counts["already"] += 1
    for team, keys in owed.items():
        team_client = client_for(team)
        assert team_client is not None  # each rep above was routed by DM only with one
        for outcome in send_now(engine, team_client, keys, now=now, wall=wall):
            counts["sent" if outcome.status == ledger.SENT else f"not_sent:{outcome.status}"] += 1
    for channel, lines in in_channel.items():
        day = local_day(now, s.tz)
        message = channel_message(s, lines, guides, channel_locale(lines, s.default_locale))
        entry = ledger.Entry(
            key=channel_key(channel, f"{day}:worklist:{partner_key}"),
            job=JOB,
            kind="channel_nudge",
            recipient=channel,
        )
        with engine.begin() as conn:
            fresh = ledger.enqueue(
                conn,
                entry,
                post_payload(message, {"channel": channel}, lines[0].rep.channel_team_id),
                now,
                wall,
                wall + RETRY_FOR,
            )
        if not fresh:
            counts["already"] += len(lines)
            continue
        channel_client = client_for(lines[0].rep.channel_team_id)
        if channel_client is None:
            counts["not_sent"] += len(lines)
            continue
        outcomes = send_now(engine, channel_client, [entry.key], now=now, wall=wall)
        if outcomes and outcomes[0].status == ledger.SENT:
            record_members(engine, lines, channel, now, None)
            counts["sent"] += len(lines)
        else:
            counts["not_sent"] += len(lines)
    return counts


def record_members(
    engine: Any, lines: Sequence[ChannelLine], channel: str, now: datetime, run_id: int | None
) -> None:
    """Each rep in a sent channel message: their own `sent` nudge row (no message of its
    own), so the cap, "stop after" and nudge_lift count them as the DM'd reps are."""
    for ln in lines:
        entry = ledger.Entry(
            key=ln.key,
            job=JOB,
            kind=ledger.NUDGE,
            recipient=channel,
            user_id=ln.rep.user_id,
            action=ln.rule.id,
            target=ln.rule.target,
        )
        ledger.claim(engine, entry, now, run_id, status=ledger.SENT)
