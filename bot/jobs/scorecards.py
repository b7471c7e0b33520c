"""Job `weekly-scorecards`: each manager's book, with week-over-week deltas and a chart,
once per manager per ISO week (the ledger key)."""

from __future__ import annotations

from sqlalchemy import select

from bot.charts import scorecard_png
from bot.i18n import render_message
from bot.jobs import ledger, recipients
from bot.jobs.context import JobContext
from bot.jobs.deliver import deliver, upload_chart
from bot.kpi.params import params_from_settings
from bot.scorecard import chart_inputs, managers, scorecard

JOB = "weekly-scorecards"
CHART = ":chart"


def run(ctx: JobContext) -> None:
    s = ctx.settings
    params = params_from_settings(s, as_of=ctx.now)
    year, week, _ = ctx.now.astimezone(s.schedule_tz).isocalendar()
    label = f"{year}-W{week:02d}"
    with ctx.engine.connect() as conn:
        people = managers(conn)
    cache = recipients.known(ctx.engine, people)
    done = _this_week(ctx, label)
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
        if card is None:
            ctx.count("skipped:empty_book")
            continue
        steps, windows = chart_inputs(card)
        title = f"Partner scorecard {label}"
        chart = (scorecard_png(steps, windows, title), f"scorecard-{label}.png", title)
        entry = ledger.Entry(key=key, job=JOB, kind="scorecard", recipient=manager)
        if chart_only:
            _chart_again(ctx, entry, str(message["channel_id"]), chart)
            continue
        locale = recipients.locale_for(ctx, manager, cache.get(manager))
        deliver(
            ctx,
            entry,
            render_message("scorecard", locale, card=card, params=params),
            lambda m=manager: recipients.dm_channel(
                ctx.engine, ctx.client, m, cache.get(m), ctx.writes
            ),
            chart=chart,
            label=f"{card['report']['cohort_size']} partners",
        )


def _this_week(ctx: JobContext, label: str) -> dict[str, dict]:
    """This week's ledger rows of this job, by key: one query, so that a rerun skips the
    managers already served without computing their books or drawing their charts."""
    D = ledger.D
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(D.c.key, D.c.status, D.c.channel_id).where(
                D.c.job == JOB,
                D.c.key.endswith(f":{label}") | D.c.key.endswith(f":{label}{CHART}"),
            )
        )
        return {r.key: dict(r._mapping) for r in rows}


def _chart_again(
    ctx: JobContext, entry: ledger.Entry, channel_id: str, chart: tuple[bytes, str, str]
) -> None:
    """The message is in the manager's DM already; only its chart is missing."""
    if ctx.dry_run:
        ctx.echo(f"→ {entry.recipient} [chart only] {chart[1]} ({len(chart[0]):,} bytes)")
        ctx.count("would_upload_chart")
        return
    upload_chart(ctx, entry, channel_id, chart)
