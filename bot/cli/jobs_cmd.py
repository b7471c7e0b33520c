"""`prm jobs …` and `prm scheduler`: the scheduled jobs, by hand or on their schedule."""

from __future__ import annotations

import json
import logging
import textwrap
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.markup import escape

from bot.cli.common import engine, fail, settings

app = typer.Typer(help="The scheduled jobs: list them, run one now, see what they did.")


def _names() -> tuple[str, ...]:
    from bot.jobs.registry import JOBS

    return tuple(JOBS)


WIDTH = 80  # every table here fits a plain 80-column terminal


@app.command("list")
def list_jobs() -> None:
    """Each job, its schedule and its next run."""
    from bot.jobs.registry import JOBS
    from bot.jobs.scheduler import trigger

    conf = settings()
    now = datetime.now(UTC)
    zone = conf.schedule_tz
    # One line per job (name, schedule, next run), what it does wrapped below it: every
    # line fits 80 columns and no name or cron expression is cut.
    console = Console(width=WIDTH)
    console.print(f"{'job':<19} {'schedule':<14} next run ({zone.key})", markup=False)
    for name, job in JOBS.items():
        nxt = trigger(name, conf).get_next_fire_time(None, now)
        when = nxt.astimezone(zone).strftime("%Y-%m-%d %H:%M") if nxt else "—"
        console.print(f"{name:<19} {job.cron(conf):<14} {when}", markup=False, overflow="fold")
        for line in textwrap.wrap(job.describe + job.note(conf), WIDTH - 4):
            console.print("    " + line, markup=False, overflow="fold")


@app.command("run")
def run(
    name: str = typer.Argument(
        ...,
        help="next-actions, weekly-scorecards, coaching-alerts, deal-expiry or partner-digests.",
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
    from bot.jobs.registry import demo_refusal, run_job
    from bot.slack.client import Clients

    if name not in _names():
        fail(f"unknown job {name!r}: choose one of {', '.join(_names())}")
    conf = settings()
    try:
        now = parse_user_instant(as_of, conf.tz) if as_of else settings_clock(conf)()
    except TimeParseError as exc:
        fail(f"--as-of: {exc}")
    can_send = bool(conf.slack_bot_token) or conf.oauth_enabled
    if not dry_run and not can_send:
        fail(
            "set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
            "(the OAuth installations) to send, or use --dry-run to see what would be sent"
        )
    eng = engine()
    if not dry_run and demo_refusal(conf, eng) is not None:
        # Running a job by hand is the explicit ask; only the scheduler stays off.
        typer.echo(
            "note: this database was built by `prm demo` (its Slack ids are made up); "
            "sending because you ran the job by hand",
            err=True,
        )
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # A dry run with a token still reads time zones and locales from Slack (read-only);
    # without one it uses what was learnt before, else the reporting zone and locale.
    # Each workspace with its own token: SLACK_BOT_TOKEN for the vendor's (else the
    # vendor's installation), each partner installation's for its people.
    clients = Clients(conf, eng) if can_send else None
    summary = run_job(
        name,
        conf,
        eng,
        now,
        client=clients.vendor() if clients else None,
        clients=clients,
        dry_run=dry_run,
        echo=typer.echo,
    )
    counts = ", ".join(f"{k} {v}" for k, v in (summary or {}).items()) or "nothing to do"
    typer.echo(f"{name}{' (dry run)' if dry_run else ''} as of {now.isoformat()}: {counts}")
    if hint := nobody_due(summary or {}, now, conf):
        typer.echo(hint)


def nobody_due(summary: dict, now: datetime, conf) -> str | None:
    """When every recipient was outside their allowed hours, say so and suggest an
    --as-of that is a morning (the end of quiet hours plus two hours, in PRM_TIMEZONE)."""
    from datetime import timedelta

    from bot.core.timeutil import QuietHours

    waiting = summary.get("skipped:not_now", 0)
    if not waiting or summary.get("sent") or summary.get("would_send"):
        return None
    quiet = QuietHours.parse(conf.quiet_hours)
    local = now.astimezone(conf.tz)
    hour = (quiet.end.hour + 2) % 24
    morning = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return (
        f"nobody is due at this hour: {waiting} outside their allowed hours (quiet hours "
        f"{conf.quiet_hours}, in each recipient's own time zone). Pick another hour, e.g. "
        f"--as-of {morning.isoformat(timespec='minutes')}"
    )


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
    console = Console(width=WIDTH)
    if not runs:
        console.print(
            "no runs yet: the jobs run on their schedules in `prm serve` (or", markup=False
        )
        console.print(
            "`prm scheduler`); `prm jobs run NAME --dry-run` shows what one sends.", markup=False
        )
    else:
        # One line per run, its summary wrapped and indented below: every line fits 80
        # columns and no job name or count is cut.
        console.print(f"{'started (UTC)':<17} {'job':<18} {'status':<11} run", markup=False)
        for r in runs:
            status = r["status"]
            if status == "interrupted":
                status = "interrupted (the process died)"
            head = f"{str(r['started_at'])[:16]:<17} {r['job']:<18} {status:<11} {_run_label(r)}"
            console.print(head, markup=False, overflow="fold")
            summary = ", ".join(f"{k} {v}" for k, v in r["summary"].items()) or "—"
            for line in textwrap.wrap(summary, WIDTH - 4):
                console.print("    " + line, markup=False, overflow="fold")
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


def _run_label(run: dict) -> str:
    """A scheduled occurrence by its time, a run by hand as "manual"; and its as-of."""
    occurrence = str(run["occurrence"])
    if not occurrence.startswith("manual:"):
        return f"scheduled {occurrence[:16].replace('T', ' ')}"
    return f"by hand, as of {str(run['as_of'])[:16]}"


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
    from bot.jobs.registry import demo_refusal
    from bot.jobs.scheduler import build_scheduler, catch_up
    from bot.slack.client import Clients
    from bot.slack.outbox import RetryWorker

    conf = settings()
    if not conf.slack_bot_token and not conf.oauth_enabled:
        fail(
            "set SLACK_BOT_TOKEN, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (the OAuth "
            "installations): the jobs send messages"
        )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    eng = engine()
    if (refusal := demo_refusal(conf, eng)) is not None:
        fail(refusal)
    clock = settings_clock(conf)
    client = Clients(conf, eng)
    RetryWorker(eng, Clients(conf, eng), clock, interval=conf.outbox_poll_seconds).start()
    catch_up(conf, eng, client, clock)
    typer.echo("prm: scheduler running (Ctrl-C to stop)", err=True)
    build_scheduler(conf, eng, client, clock, blocking=True).start()
