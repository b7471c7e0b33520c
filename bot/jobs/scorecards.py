"""Job `weekly-scorecards`: each manager's book, with week-over-week deltas and a chart,
once per manager per ISO week (the ledger key)."""

from __future__ import annotations

from bot.charts import scorecard_png
from bot.i18n import render_message
from bot.jobs import ledger, recipients
from bot.jobs.context import JobContext
from bot.jobs.deliver import deliver
from bot.kpi.params import params_from_settings
from bot.scorecard import chart_inputs, managers, scorecard

JOB = "weekly-scorecards"


def run(ctx: JobContext) -> None:
    s = ctx.settings
    params = params_from_settings(s, as_of=ctx.now)
    year, week, _ = ctx.now.astimezone(s.schedule_tz).isocalendar()
    with ctx.engine.connect() as conn:
        people = managers(conn)
    cache = recipients.known(ctx.engine, people)
    for manager in sorted(people):
        with ctx.engine.connect() as conn:
            card = scorecard(conn, params, manager)
        if card is None:
            ctx.count("skipped:empty_book")
            continue
        locale = recipients.locale_for(ctx, manager, cache.get(manager))
        message = render_message("scorecard", locale, card=card, params=params)
        steps, windows = chart_inputs(card)
        title = f"Partner scorecard {year}-W{week:02d}"
        png = scorecard_png(steps, windows, title)
        entry = ledger.Entry(
            key=f"{JOB}:{manager}:{year}-W{week:02d}",
            job=JOB,
            kind="scorecard",
            recipient=manager,
        )
        deliver(
            ctx,
            entry,
            message,
            lambda m=manager: recipients.dm_channel(ctx.engine, ctx.client, m, cache.get(m)),
            chart=(png, f"scorecard-{year}-W{week:02d}.png", title),
            label=f"{card['report']['cohort_size']} partners",
        )
