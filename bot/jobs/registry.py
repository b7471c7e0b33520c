"""The jobs as data (name, schedule, grace, misfire, retries) and running one (claimed,
summarised). Nothing else names a job or branches on one."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.core.settings import Settings
from bot.core.timeutil import wall_clock
from bot.jobs import coaching, deal_expiry, next_actions, partner_digests, scorecards
from bot.jobs.context import JobContext
from bot.slack import recipients
from bot.slack.client import Clients
from bot.store.demo_mark import is_demo
from bot.store.runs import claim_run, finish_run, heartbeat, reap

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobDef:
    """A job as data: everything the scheduler, `prm jobs` and the runner need to know."""

    name: str
    run: Callable[[JobContext], None]
    describe: str
    # The job's cron expression, from the settings (PRM_*_CRON) or fixed.
    schedule: Callable[[Settings], str]
    # How late an occurrence may still run; None: until the end of its day in the
    # schedule's zone (a catch-up after downtime never runs yesterday's occurrence).
    grace: timedelta | None = None
    # APScheduler's misfire grace time, for a scheduler thread that was starved.
    misfire: timedelta = timedelta(hours=12)
    # How long the running bot retries a message Slack did not get. A nudge only within
    # the hour: the next hourly run decides again (quiet hours, caps); the daily and weekly
    # messages for the rest of a working day.
    retry_for: timedelta = timedelta(hours=12)
    # What `prm jobs list` adds to the schedule, if anything.
    note: Callable[[Settings], str] = lambda settings: ""
    # True: the job times each recipient itself (their own zone, PRM_QUIET_HOURS). False:
    # the scheduler holds a scheduled occurrence back in quiet hours of the schedule zone.
    local_time: bool = False

    def cron(self, settings: Settings) -> str:
        return self.schedule(settings)


JOBS: dict[str, JobDef] = {
    j.name: j
    for j in (
        JobDef(
            next_actions.JOB,
            next_actions.run,
            "next-action DMs to partner reps",
            schedule=lambda s: "0 * * * *",  # hourly: each rep is due at PRM_NUDGE_HOUR locally
            grace=timedelta(hours=1),
            misfire=timedelta(hours=1),
            retry_for=timedelta(hours=1),
            note=lambda s: f" (each rep at {s.nudge_hour:02d}:00 in their own zone)",
            local_time=True,
        ),
        JobDef(
            scorecards.JOB,
            scorecards.run,
            "weekly scorecards to partner managers",
            schedule=lambda s: s.scorecard_cron,  # hourly around Monday: each manager locally
            grace=timedelta(hours=1),
            misfire=timedelta(hours=1),
            note=lambda s: f" (each manager Mondays at {s.scorecard_hour:02d}:00 in their zone)",
            local_time=True,
        ),
        JobDef(
            partner_digests.JOB,
            partner_digests.run,
            "weekly digests in partners' shared channels",
            schedule=lambda s: s.partner_digest_cron,  # hourly around Monday: each partner locally
            grace=timedelta(hours=1),
            misfire=timedelta(hours=1),
            note=lambda s: f" (each partner Mondays at {s.partner_digest_hour:02d}:00 in its zone)",
            local_time=True,
        ),
        JobDef(
            coaching.JOB,
            coaching.run,
            "one digest a day to each CS owner",
            schedule=lambda s: s.coaching_cron,
            note=lambda s: f" (each owner at {s.digest_hour:02d}:00 in their zone)",
            local_time=True,
        ),
        JobDef(
            deal_expiry.JOB,
            deal_expiry.run,
            "deal registration expiry: reminders, lapses",
            schedule=lambda s: s.expiry_cron,
        ),
    )
}


DEMO_REFUSAL = (
    "this database was built by `prm demo`: its Slack ids are made up, so the jobs send "
    "nothing to it (set PRM_DEMO_SEND=true to send anyway, or use --dry-run)"
)


def demo_refusal(settings: Settings, engine: Engine) -> str | None:
    """Why the jobs must not message this database (a demo's), or None."""
    if settings.demo_send or not is_demo(engine):
        return None
    return DEMO_REFUSAL


def run_job(
    name: str,
    settings: Settings,
    engine: Engine,
    now: datetime,
    *,
    client: WebClient | None,
    dry_run: bool = False,
    occurrence: str | None = None,
    echo: Callable[[str], None] = print,
    clients: Clients | None = None,
) -> dict[str, Any] | None:
    """Run one job as of `now`. A scheduled `occurrence` is claimed first: if another
    instance has it, nothing runs and None is returned. A dry run claims and writes nothing.

    `client` reaches the vendor's workspace; `clients` each partner workspace with its own
    installation's token (made here from the settings when not given, unless nothing may
    reach Slack: a dry run without a client)."""
    job = JOBS[name]
    if clients is None and (client is not None or (settings.oauth_enabled and not dry_run)):
        clients = Clients(settings, engine)
    # A dry run may still read from Slack (time zones, locales); it never sends.
    ctx = JobContext(
        settings,
        engine,
        now,
        client,
        dry_run,
        echo,
        scheduled=bool(occurrence),
        retry_for=job.retry_for,
        clients=clients,
    )
    if not dry_run:
        reap(engine, wall_clock())  # earlier runs killed mid-way: interrupted, not running
        occurrence = occurrence or f"manual:{uuid.uuid4().hex[:12]}"
        ctx.run_id = claim_run(engine, name, occurrence, now, wall_clock())
        if ctx.run_id is None:
            log.info("%s %s already claimed by another instance", name, occurrence)
            return None
    status = "done"
    alive = heartbeat(engine, ctx.run_id, wall_clock) if ctx.run_id else nullcontext()
    try:
        with alive, engine.connect().execution_options(isolation_level="AUTOCOMMIT") as ledger_db:
            ctx.ledger_db = ledger_db
            try:
                job.run(ctx)
            finally:
                ctx.ledger_db = None
                recipients.flush(engine, ctx.writes)
    except Exception:
        status = "failed"
        log.exception("job %s failed", name)
        raise
    finally:
        summary = dict(sorted(ctx.counts.items()))
        if ctx.run_id is not None:
            finish_run(engine, ctx.run_id, status, summary, wall_clock())
    return summary
