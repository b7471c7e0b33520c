"""`prm jobs …` and `prm scheduler`: the scheduled jobs, by hand or on their schedule."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.cli.common import engine, fail, settings

app = typer.Typer(help="The scheduled jobs: list them, run one now, see what they did.")


def _names() -> tuple[str, ...]:
    from bot.jobs.registry import JOBS

    return tuple(JOBS)


@app.command("list")
def list_jobs() -> None:
    """Each job, its schedule and its next run."""
    from bot.jobs.scheduler import trigger

    conf = settings()
    now = datetime.now(UTC)
    table = Table("job", "schedule", "zone", "next run", "what")
    from bot.jobs.registry import JOBS

    for name, job in JOBS.items():
        nxt = trigger(name, conf).get_next_fire_time(None, now)
        schedule = job.cron(conf) + job.note(conf)
        table.add_row(
            name,
            schedule,
            conf.schedule_tz.key,
            nxt.isoformat(timespec="minutes") if nxt else "—",
            job.describe,
        )
    Console(width=140).print(table)


@app.command("run")
def run(
    name: str = typer.Argument(
        ..., help="next-actions, weekly-scorecards, coaching-alerts or deal-expiry."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Act as if now were this instant (KPIs, quiet hours, keys)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print every message it would send; send and record nothing."
    ),
) -> None:
    """Run one job now (or as of --as-of)."""
    from bot.core.timeutil import TimeParseError, parse_user_instant
    from bot.handlers.app import settings_clock
    from bot.jobs.registry import run_job
    from bot.slack.client import job_client

    if name not in _names():
        fail(f"unknown job {name!r}: choose one of {', '.join(_names())}")
    conf = settings()
    try:
        now = parse_user_instant(as_of, conf.tz) if as_of else settings_clock(conf)()
    except TimeParseError as exc:
        fail(f"--as-of: {exc}")
    if not dry_run and not conf.slack_bot_token:
        fail("set SLACK_BOT_TOKEN to send (or use --dry-run to see what would be sent)")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # A dry run with a token still reads time zones and locales from Slack (read-only);
    # without one it uses what was learnt before, else the reporting zone and locale.
    summary = run_job(
        name,
        conf,
        engine(),
        now,
        client=job_client(conf) if conf.slack_bot_token else None,
        dry_run=dry_run,
        echo=typer.echo,
    )
    counts = ", ".join(f"{k} {v}" for k, v in (summary or {}).items()) or "nothing to do"
    typer.echo(f"{name}{' (dry run)' if dry_run else ''} as of {now.isoformat()}: {counts}")


@app.command("history")
def history(
    limit: int = typer.Option(20, "--limit", min=1, help="How many recent runs."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Recent runs and their summaries; deliveries that failed or may not have gone out."""
    from bot.jobs.history import problems
    from bot.store.runs import recent_runs

    eng = engine()
    found = problems(eng, datetime.now(UTC), limit)
    runs = recent_runs(eng, limit)
    if as_json:
        typer.echo(json.dumps({"runs": runs, **found}, default=str, indent=2))
        return
    console = Console(width=160)
    table = Table("started", "job", "occurrence", "as of", "status", "summary")
    for r in runs:
        summary = ", ".join(f"{k} {v}" for k, v in r["summary"].items())
        status = r["status"]
        if status == "interrupted":
            status = "interrupted (the process died)"
        table.add_row(
            str(r["started_at"])[:19],
            r["job"],
            r["occurrence"],
            str(r["as_of"])[:19],
            status,
            summary or "—",
        )
    console.print(table)
    _listed(
        console,
        found["ambiguous"],
        "bold yellow",
        "ambiguous",
        "may or may not have reached Slack (a timeout or lost connection after sending, or "
        "the process stopped before recording it); never resent automatically. Check the "
        "recipient's DM, then `prm jobs resend KEY` if it is not there:",
    )
    _listed(
        console,
        found["undelivered"],
        "bold yellow",
        "undelivered",
        "Slack did not take them and the retries ran out of time; `prm jobs resend KEY`:",
    )
    _listed(console, found["failed"], "bold red", "recent failed", "refused by Slack:")
    _listed(
        console,
        found["undeliverable"],
        "yellow",
        "recent undeliverable",
        "no way to reach them (no Slack id, no partner channel, nobody to decide a deal):",
    )


def _listed(console: Console, rows: list[dict], style: str, what: str, why: str) -> None:
    if not rows:
        return
    noun = "delivery" if len(rows) == 1 else "deliveries"
    console.print(f"[{style}]{len(rows)} {what} {noun}[/] {escape(why)}")
    for row in rows:
        error = f": {row['error']}" if row.get("error") else ""
        console.print(escape(f"  {row['created_at']}  {row['key']}  → {row['recipient']}{error}"))


@app.command("resend")
def resend(
    keys: list[str] = typer.Argument(..., help="Ledger keys, as `prm jobs history` lists them."),
) -> None:
    """Send ambiguous, failed or undelivered messages again, by hand (check first that the
    recipient does not have them: an ambiguous one may have arrived)."""
    from bot.handlers.app import settings_clock
    from bot.jobs.history import resend as resend_keys
    from bot.slack.client import Clients

    conf = settings()
    eng = engine()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    done = resend_keys(
        eng, Clients(conf, eng), keys, now=settings_clock(conf)(), wall=datetime.now(UTC)
    )
    failed = False
    for item in done:
        if item.was is None:
            typer.echo(f"{item.key}: nothing to resend (no such delivery, or it was sent)")
            failed = True
        elif item.outcome is None:
            typer.echo(f"{item.key}: owed again; the job's next run (or the running bot) sends it")
        else:
            typer.echo(f"{item.key}: {item.outcome.counted}")
            failed = failed or item.outcome.status != "sent"
    raise typer.Exit(1 if failed else 0)


def scheduler() -> None:
    """Run the jobs on their schedules (without the Slack app; `prm serve` includes this)."""
    from bot.handlers.app import settings_clock
    from bot.jobs.scheduler import build_scheduler, catch_up
    from bot.slack.client import Clients, job_client
    from bot.slack.outbox import RetryWorker

    conf = settings()
    if not conf.slack_bot_token:
        fail("set SLACK_BOT_TOKEN: the jobs send messages")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    eng = engine()
    clock = settings_clock(conf)
    client = job_client(conf)
    RetryWorker(eng, Clients(conf, eng), clock, interval=conf.outbox_poll_seconds).start()
    catch_up(conf, eng, client, clock)
    typer.echo("prm: scheduler running (Ctrl-C to stop)", err=True)
    build_scheduler(conf, eng, client, clock, blocking=True).start()
