"""Job `coaching-alerts`: one digest a day to each CS owner — the conditions worth their
attention (reps needing coaching, partners stuck at one step, partners gone dormant),
grouped by kind, ranked by severity, each with a playbook and Ack / Snooze buttons.

Each condition is an episode (`alert_episode`), opened the first time it is seen and
closed when it clears. A digest lists the episodes that are new or still open (neither
acknowledged nor snoozed; a snooze that ran out brings its episode back). It goes out
from PRM_DIGEST_HOUR in the owner's own Slack time zone, never in quiet hours, once per
owner and local day: the ledger key `coaching-alerts:digest:<owner>:<local day>`.
See docs/digest.md.
"""

from __future__ import annotations

import json
from datetime import datetime

from bot.domain.coaching import Condition, Item, conditions, digest_sections, names, owners
from bot.domain.nudges.fatigue import QuietHours, local_day, send_window_open, zone
from bot.jobs.context import JobContext, profile_for
from bot.jobs.send import deliver
from bot.kpi.params import params_from_settings
from bot.slack import recipients
from bot.slack.ids import ALERT_ACK, ALERT_SNOOZE
from bot.slack.messages import render_message
from bot.store import alerts, ledger

JOB = "coaching-alerts"
KIND = "digest"


def digest_key(cs_slack_id: str, day: str) -> str:
    """The one digest a CS owner is owed on a local day."""
    return f"{JOB}:{KIND}:{cs_slack_id}:{day}"


def run(ctx: JobContext) -> None:
    s = ctx.settings
    quiet = QuietHours.parse(s.quiet_hours)
    params = params_from_settings(s, as_of=ctx.now)
    with ctx.engine.connect() as conn:
        people = owners(conn)
    cache = ctx.known = recipients.known(ctx.engine, people)
    for cs in people:
        ctx.count("owners")
        tz_name, locale = profile_for(ctx, cs, cache.get(cs))
        tz = zone(tz_name, s.tz)
        # On the schedule, from PRM_DIGEST_HOUR local time; by hand, now — never in the
        # owner's quiet hours (a catch-up after downtime included).
        if not send_window_open(ctx.now, tz, s.digest_hour if ctx.scheduled else 0, quiet):
            ctx.count("skipped:not_now")
            continue
        day = local_day(ctx.now, tz)
        key = digest_key(cs, day)
        with ctx.engine.connect() as conn:
            status = ledger.statuses_of(conn, [key]).get(key)
        if status not in (None, ledger.RETRY):
            ctx.count("duplicate")  # today's digest is out (or in flight, or refused)
            continue
        with ctx.engine.connect() as conn:
            found = conditions(conn, params, cs, s.stuck_days)
            label = names(
                conn,
                {c.partner_key for c in found},
                {c.detail["rep"] for c in found if "rep" in c.detail},
            )
        items = _items(ctx, cs, found, tz_day=day, tz=tz)
        if not items:
            ctx.count("skipped:nothing_open")
            continue
        sections = digest_sections(items, s.alerts_per_run)
        shown = sum(len(x["shown"]) for x in sections)
        if shown < len(items):
            ctx.count("deferred", len(items) - shown)  # listed as "and N more"
        message = render_message(
            "digest",
            locale,
            day=day,
            total=len(items),
            new=sum(1 for i in items if i.why == "new"),
            sections=[_section(x, label, ctx.now) for x in sections],
            ack_action=ALERT_ACK,
            snooze_action=ALERT_SNOOZE,
            snooze_days=s.snooze_days,
        )
        entry = ledger.Entry(key=key, job=JOB, kind=KIND, recipient=cs, action=KIND)
        deliver(ctx, entry, message, {"user": cs}, label=f"{day} · {len(items)} open")


def _items(ctx: JobContext, cs: str, found: list[Condition], *, tz_day: str, tz) -> list[Item]:
    """The digest's items: close the cleared episodes, open the new ones, and keep what
    is neither acknowledged nor under a running snooze."""
    open_episodes = _close_cleared(ctx, cs, {c.subject for c in found})
    items = []
    for c in found:
        episode = open_episodes.get(c.subject)
        if episode is None:
            episode_id = 0 if ctx.dry_run else _open(ctx, cs, c)
            if episode_id is None:
                ctx.count("duplicate_episode")  # another instance opened it a moment ago
                continue
            items.append(Item(c, episode_id, ctx.now, "new"))
            continue
        if episode["acked_at"] is not None:
            continue
        snoozed = episode["snoozed_until"]
        if snoozed is not None and snoozed > ctx.now:
            ctx.count("snoozed")
            continue
        opened = episode["opened_at"]
        why = (
            "reminder"
            if snoozed is not None
            else "new"
            if opened.astimezone(tz).date().isoformat() == tz_day
            else "open"
        )
        items.append(Item(c, int(episode["id"]), opened, why))
    return items


def _open(ctx: JobContext, cs: str, c: Condition) -> int | None:
    ctx.count("episodes_opened")
    return alerts.open_episode(
        ctx.engine,
        condition=c.kind,
        subject=c.subject,
        cs_slack_id=cs,
        partner_key=c.partner_key,
        detail=json.dumps(c.detail),
        now=ctx.now,
    )


def _section(section: dict, label: dict[str, str], now: datetime) -> dict:
    """What the template needs of a section: names, not keys."""
    return {
        "kind": section["kind"],
        "total": section["total"],
        "more": section["more"],
        "entries": [
            {
                "episode_id": str(i.episode_id),
                "why": i.why,
                "open_days": max(0, (now - i.opened_at).days),
                "detail": i.condition.detail,
                "partner": label.get(i.condition.partner_key, i.condition.partner_key),
                "rep": label.get(i.condition.detail.get("rep", ""), ""),
            }
            for i in section["shown"]
        ],
    }


def _close_cleared(ctx: JobContext, cs: str, holding: set[str]) -> dict[str, dict]:
    """Close this owner's episodes whose condition no longer holds; return the open rest."""
    with ctx.engine.connect() as conn:
        rows = alerts.open_episodes(conn, cs)
    cleared = [r["id"] for r in rows if r["subject"] not in holding]
    if cleared and not ctx.dry_run:
        with ctx.engine.begin() as conn:
            alerts.close_episodes(conn, cleared, ctx.now)
        ctx.count("episodes_closed", len(cleared))
    return {r["subject"]: r for r in rows if r["subject"] in holding}
