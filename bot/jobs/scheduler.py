"""APScheduler inside `prm serve` (or alone as `prm scheduler`).

Each job has an explicit id, `coalesce`, `max_instances=1` and a misfire grace time. The
scheduler's job store lives in memory, so a bot that was down at the scheduled time would
not know it missed it; on start it therefore runs, once, any occurrence that fell within
its grace period (for scorecards and coaching alerts: earlier the same day). Each
occurrence is claimed in `job_run` before it runs, so restarts and replicas never run
the same occurrence twice — and the delivery ledger keeps messages unique regardless.

No floods: a first start (no run recorded yet) catches nothing up; a job that does not
time each recipient itself is held back in quiet hours (PRM_QUIET_HOURS in the schedule
zone), the others skip each recipient outside their own allowed hours; and a database
built by `prm demo` is never messaged unless PRM_DEMO_SEND=true (docs/jobs.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.core.settings import Settings
from bot.core.timeutil import QuietHours
from bot.jobs.registry import JOBS, demo_refusal, run_job
from bot.slack.client import Clients
from bot.store.runs import recent_runs

log = logging.getLogger(__name__)


def trigger(name: str, settings: Settings) -> CronTrigger:
    return CronTrigger.from_crontab(JOBS[name].cron(settings), timezone=settings.schedule_tz)


def grace(name: str, fired: datetime, settings: Settings) -> timedelta:
    """How late an occurrence may still run: the hourly job, within its hour; the daily and
    weekly ones, until the end of that day in the schedule's zone."""
    if (fixed := JOBS[name].grace) is not None:
        return fixed
    local = fired.astimezone(settings.schedule_tz)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - local


def previous_fire(name: str, settings: Settings, now: datetime) -> datetime | None:
    """The latest scheduled time at or before `now` (within the last 8 days)."""
    trig = trigger(name, settings)
    fire = trig.get_next_fire_time(None, now - timedelta(days=8))
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trig.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return last


def fire(
    name: str,
    settings: Settings,
    engine: Engine,
    client: WebClient | Clients,
    clock: Callable[[], datetime],
) -> dict | None:
    """Run the occurrence due now, claimed by its scheduled time. `client`: the vendor's
    workspace client, or every workspace's (`Clients`: the vendor's is looked up at each
    run, so an OAuth deployment starts sending once the vendor installs)."""
    now = clock()
    scheduled = previous_fire(name, settings, now)
    if scheduled is None or now - scheduled > grace(name, scheduled, settings):
        log.info("%s: no occurrence due at %s", name, now.isoformat())
        return None
    if (why := held_back(name, settings, engine, now)) is not None:
        log.warning("%s (%s): not run: %s", name, scheduled.isoformat(), why)
        return None
    clients = client if isinstance(client, Clients) else None
    vendor = client.vendor() if isinstance(client, Clients) else client
    summary = run_job(
        name,
        settings,
        engine,
        now,
        client=vendor,
        clients=clients,
        occurrence=scheduled.isoformat(),
    )
    log.info(
        "%s (%s): %s",
        name,
        scheduled.isoformat(),
        "already run elsewhere" if summary is None else summary,
    )
    return summary


def held_back(name: str, settings: Settings, engine: Engine, now: datetime) -> str | None:
    """Why a scheduled occurrence must not run now, or None: a demo database, or quiet
    hours in the schedule zone for a job that does not time its recipients itself."""
    if (refusal := demo_refusal(settings, engine)) is not None:
        return refusal
    local = now.astimezone(settings.schedule_tz)
    if not JOBS[name].local_time and QuietHours.parse(settings.quiet_hours).contains(local.time()):
        return f"quiet hours ({settings.quiet_hours}, {settings.schedule_tz.key})"
    return None


def first_start(engine: Engine) -> bool:
    """No job run recorded yet: a new install (or a fresh demo), with no backlog to owe."""
    return not recent_runs(engine, 1)


def build_scheduler(
    settings: Settings,
    engine: Engine,
    client: WebClient | Clients,
    clock: Callable[[], datetime],
    *,
    blocking: bool = False,
) -> BaseScheduler:
    scheduler_cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_cls(timezone=settings.schedule_tz)
    for name in JOBS:
        scheduler.add_job(
            fire,
            trigger(name, settings),
            args=[name, settings, engine, client, clock],
            id=name,
            name=JOBS[name].describe,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(JOBS[name].misfire.total_seconds()),
            replace_existing=True,
        )
    return scheduler


def catch_up(
    settings: Settings,
    engine: Engine,
    client: WebClient | Clients,
    clock: Callable[[], datetime],
) -> threading.Thread:
    """Run, in the background, each occurrence missed while the bot was down — unless
    this is the first start (no run recorded): a new install owes no backlog."""

    def work() -> None:
        try:
            if first_start(engine):
                log.info("first start (no job run recorded): nothing to catch up")
                return
        except Exception:
            log.exception("catch-up: cannot read the job runs")
            return
        for name in JOBS:
            try:
                fire(name, settings, engine, client, clock)
            except Exception:
                log.exception("catch-up of %s failed", name)

    thread = threading.Thread(target=work, name="prm-catch-up", daemon=True)
    thread.start()
    return thread
