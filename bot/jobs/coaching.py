"""Job `coaching-alerts`: tell each CS owner whom to coach — one alert per condition
episode (from the day a condition is first seen until it clears), with the article's
playbook and Ack / Snooze buttons. A snoozed, unacknowledged episode that still holds is
re-alerted once the snooze ends."""

from __future__ import annotations

import json
from collections.abc import Iterable

from bot.domain.coaching import Condition, conditions, names, owners
from bot.jobs.context import JobContext, locale_for
from bot.jobs.send import deliver
from bot.kpi.params import params_from_settings
from bot.slack import recipients
from bot.slack.ids import ALERT_ACK, ALERT_SNOOZE
from bot.slack.messages import render_message
from bot.store import alerts, ledger

JOB = "coaching-alerts"
SEVERITY = {"coaching": 0, "stuck": 1, "dormant": 2}


def run(ctx: JobContext) -> None:
    s = ctx.settings
    params = params_from_settings(s, as_of=ctx.now)
    with ctx.engine.connect() as conn:
        people = owners(conn)
    cache = ctx.known = recipients.known(ctx.engine, people)
    for cs in people:
        with ctx.engine.connect() as conn:
            found = conditions(conn, params, cs, s.stuck_days)
            label = names(
                conn,
                {c.partner_key for c in found},
                {c.detail["rep"] for c in found if "rep" in c.detail},
            )
        open_episodes = _close_cleared(ctx, cs, {c.subject for c in found})
        owed = _owed(ctx, open_episodes.values())
        due: list[tuple[Condition, int | None, str]] = []
        for c in sorted(found, key=lambda c: (SEVERITY[c.kind], c.subject)):
            episode = open_episodes.get(c.subject)
            if episode is None:
                due.append((c, None, "new"))
            elif episode["id"] in owed:
                due.append((c, episode["id"], owed[episode["id"]]))
        if len(due) > s.alerts_per_run:
            ctx.count("deferred", len(due) - s.alerts_per_run)  # next run picks them up
            due = due[: s.alerts_per_run]
        locale = None
        for condition, episode_id, why in due:
            if ctx.dry_run:
                episode_id = episode_id or 0
            elif episode_id is None:
                episode_id = alerts.open_episode(
                    ctx.engine,
                    condition=condition.kind,
                    subject=condition.subject,
                    cs_slack_id=cs,
                    partner_key=condition.partner_key,
                    detail=json.dumps(condition.detail),
                    now=ctx.now,
                )
                if episode_id is None:
                    ctx.count("duplicate")  # another instance opened it a moment ago
                    continue
            locale = locale or locale_for(ctx, cs, cache.get(cs))
            message = render_message(
                "alert",
                locale,
                condition={
                    "kind": condition.kind,
                    "detail": condition.detail,
                    "partner": label.get(condition.partner_key, condition.partner_key),
                    "rep": label.get(condition.detail.get("rep", ""), ""),
                },
                reminder=why == "reminder",
                episode_id=str(episode_id),
                ack_action=ALERT_ACK,
                snooze_action=ALERT_SNOOZE,
                snooze_days=s.snooze_days,
            )
            episode = open_episodes.get(condition.subject)
            key = _key(episode) if episode else f"{JOB}:episode:{episode_id}"
            entry = ledger.Entry(
                key=key, job=JOB, kind="alert", recipient=cs, action=condition.kind
            )
            deliver(ctx, entry, message, {"user": cs}, label=condition.subject)


def _key(episode: dict) -> str:
    """The ledger key of the alert an open episode calls for now: its first alert, or the
    reminder once a snooze has run out (a new snooze, a new reminder)."""
    key = f"{JOB}:episode:{episode['id']}"
    if episode["snoozed_until"] is not None:
        key += f":reminder:{episode['snoozed_until'].date()}"
    return key


def _owed(ctx: JobContext, episodes: Iterable[dict]) -> dict[int, str]:
    """Open episodes whose alert is still owed, and why ("new" or "reminder").

    Owed: not acknowledged, no snooze still running, and its key not yet in the ledger or
    marked `retry` (Slack refused for now). So an alert lost to a temporary failure, or to
    a crash between opening the episode and claiming its key, goes out on the next run;
    and a sent reminder is done — it does not come up again, run after run, taking a place
    of PRM_ALERTS_PER_RUN from new conditions.
    """
    waiting = {
        _key(e): e
        for e in episodes
        if e["acked_at"] is None and (e["snoozed_until"] is None or e["snoozed_until"] <= ctx.now)
    }
    if not waiting:
        return {}
    with ctx.engine.connect() as conn:
        status = ledger.statuses_of(conn, waiting)
    return {
        e["id"]: "new" if e["snoozed_until"] is None else "reminder"
        for key, e in waiting.items()
        if status.get(key) in (None, ledger.RETRY)
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
