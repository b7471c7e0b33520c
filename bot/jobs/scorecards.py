"""Job `weekly-scorecards`: each manager's book, what changed in the week and a chart, on
the manager's own Monday morning, once per manager per local ISO week (the ledger key).

The schedule ticks hourly around Monday (PRM_SCORECARD_CRON); each manager is due from
PRM_SCORECARD_HOUR on Monday in their Slack time zone (else PRM_TIMEZONE), never in quiet
hours. A run by hand sends now, quiet hours excepted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from bot.core import numbers
from bot.domain import worklist
from bot.domain.access import resolve_viewer
from bot.domain.nudges.fatigue import QuietHours, zone
from bot.domain.scorecard import book_size, chart_inputs, managers, scorecard
from bot.jobs.context import JobContext, profile_for
from bot.jobs.send import deliver, upload_chart
from bot.kpi.params import params_from_settings
from bot.slack import blocks, recipients
from bot.slack.charts import ChartLabels, scorecard_png
from bot.slack.messages import render, render_message
from bot.store import ledger

JOB = "weekly-scorecards"
CHART = ":chart"
MONDAY = 0


def week_label(now: datetime, tz: ZoneInfo) -> str:
    """The manager's local ISO week, as in the ledger key: `2026-W45`."""
    year, week, _ = now.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def due(now: datetime, tz: ZoneInfo, hour: int, quiet: QuietHours, scheduled: bool) -> bool:
    """On the schedule: Monday from `hour`, local time; by hand: now. Never in quiet hours."""
    local = now.astimezone(tz)
    if quiet.contains(local.time()):
        return False
    return not scheduled or (local.weekday() == MONDAY and local.hour >= hour)


def chart_labels(
    locale: str, week: str, steps: list[str], months: list[int], bottleneck: str | None
) -> ChartLabels:
    """The chart's words in the reader's language, from the scorecard template's catalog."""
    text = render("scorecard", locale, chart={"week": week, "steps": steps, "months": months})
    found: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            # A chart is no Slack text: the data's stand-ins and escapes go back to plain.
            found[name.strip()] = blocks.unescape(blocks.restore(value.strip(), plain=True))
    return ChartLabels(
        title=found.get("title", f"Partner scorecard {week}"),
        funnel=found.get("funnel", ChartLabels.funnel),
        retention=found.get("retention", ChartLabels.retention),
        bottleneck=found.get("bottleneck", ChartLabels.bottleneck),
        steps=tuple((k, found.get(f"step:{k}", k)) for k in steps),
        months=tuple((m, found.get(f"months:{m}", f"{m} mo")) for m in months),
        bottleneck_step=bottleneck,
    )


def run(ctx: JobContext) -> None:
    s = ctx.settings
    quiet = QuietHours.parse(s.quiet_hours)
    params = params_from_settings(s, as_of=ctx.now)
    with ctx.engine.connect() as conn:
        people = managers(conn)
    cache = ctx.known = recipients.known(ctx.engine, people)
    # The ledger rows of the last 8 days, read once: a rerun skips the managers already
    # served this (local) week without computing their books or drawing their charts.
    with ctx.engine.connect() as conn:
        done = ledger.taken(conn, JOB, ctx.now - timedelta(days=8))
    for manager in sorted(people):
        with ctx.engine.connect() as conn:
            empty = book_size(conn, params, manager) == 0
        if empty:
            ctx.count("skipped:empty_book")
            continue
        tz_name, locale = profile_for(ctx, manager, cache.get(manager))
        tz = zone(tz_name, s.tz)
        if not due(ctx.now, tz, s.scorecard_hour, quiet, ctx.scheduled):
            ctx.count("skipped:not_now")
            continue
        label = week_label(ctx.now, tz)
        key = f"{JOB}:{manager}:{label}"
        message = done.get(key, {})
        chart_status = done.get(key + CHART, {}).get("status")
        # Only the chart is owed when the message went out but its upload did not (a
        # `retry` row, or none at all after a crash between the two): upload just that.
        chart_only = message.get("status") == ledger.SENT and chart_status in (None, ledger.RETRY)
        if message.get("status") not in (None, ledger.RETRY) and not chart_only:
            ctx.count("duplicate")  # sent (or failed for good, or in flight) this week
            continue
        with ctx.engine.connect() as conn:
            card = scorecard(conn, params, manager)
            # On top: the manager's worklist now, and what came of last week's actions.
            viewer = resolve_viewer(conn, manager, s.admins)
            todo = worklist.listing(conn, s, ctx.now, viewer) if card is not None else None
            followup = worklist.followup(conn, params, manager) if card is not None else {}
        if card is None:
            ctx.count("skipped:empty_book")
            continue
        steps, windows = chart_inputs(card)
        labels = chart_labels(
            locale, label, [k for k, _, _ in steps], [m for m, *_ in windows], card["bottleneck"]
        )
        chart = (
            scorecard_png(steps, windows, labels),
            f"scorecard-{label}.png",
            labels.title,
        )
        entry = ledger.Entry(key=key, job=JOB, kind="scorecard", recipient=manager)
        if chart_only:
            _chart_again(ctx, entry, chart)
            continue
        deliver(
            ctx,
            entry,
            render_message(
                "scorecard",
                locale,
                card=card,
                params=params,
                todo=todo,
                followup=followup,
                todo_money=partial(numbers.money, currency=s.currency, locale=locale),
            ),
            {"user": manager},
            chart=chart,
            label=f"book of {card['report']['cohort_size']}",
        )


def _chart_again(ctx: JobContext, entry: ledger.Entry, chart: tuple[bytes, str, str]) -> None:
    """The message is in the manager's DM already; only its chart is missing."""
    if ctx.dry_run:
        ctx.echo(f"→ {entry.recipient} [chart only] {chart[1]} ({len(chart[0]):,} bytes)")
        ctx.count("would_upload_chart")
        return
    upload_chart(ctx, entry, chart)
