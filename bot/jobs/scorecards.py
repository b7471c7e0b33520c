"""Job `weekly-scorecards`: each manager's book, with week-over-week deltas and a chart,
once per manager per ISO week (the ledger key)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from bot.core import numbers
from bot.core.timeutil import local_midnight
from bot.domain import worklist
from bot.domain.access import resolve_viewer
from bot.domain.scorecard import chart_inputs, managers, scorecard
from bot.jobs.context import JobContext, locale_for
from bot.jobs.send import deliver, upload_chart
from bot.kpi.params import params_from_settings
from bot.slack import recipients
from bot.slack.charts import scorecard_png
from bot.slack.messages import render_message
from bot.store import ledger

JOB = "weekly-scorecards"
CHART = ":chart"


def run(ctx: JobContext) -> None:
    s = ctx.settings
    params = params_from_settings(s, as_of=ctx.now)
    year, week, week_day = ctx.now.astimezone(s.schedule_tz).isocalendar()
    label = f"{year}-W{week:02d}"
    with ctx.engine.connect() as conn:
        people = managers(conn)
    cache = ctx.known = recipients.known(ctx.engine, people)
    # The week's ledger rows, read once: a rerun skips the managers already served without
    # computing their books or drawing their charts.
    week_start = local_midnight(
        ctx.now.astimezone(s.schedule_tz).date() - timedelta(days=week_day - 1), s.schedule_tz
    )
    with ctx.engine.connect() as conn:
        done = ledger.taken(conn, JOB, week_start)
    for manager in sorted(people):
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
        title = f"Partner scorecard {label}"
        chart = (scorecard_png(steps, windows, title), f"scorecard-{label}.png", title)
        entry = ledger.Entry(key=key, job=JOB, kind="scorecard", recipient=manager)
        if chart_only:
            _chart_again(ctx, entry, chart)
            continue
        locale = locale_for(ctx, manager, cache.get(manager))
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
