"""Benchmark: the scheduled jobs' fan-out against a fake Slack that answers at once.

    python bench/jobs_fanout.py [--backend sqlite|postgresql] [--reps 10000] [--managers 500]
                                [--markdown] [--profile next-actions|weekly-scorecards]

Builds a fresh database (SQLite file bench/data/jobs-fanout.db, or the PostgreSQL database
`prm_bench_jobs`) with `--reps` partner reps — every one registered, with a Slack user id,
at a signed partner — spread over `--reps / --reps-per-partner` partners whose
`manager_slack_id` is one of `--managers` managers, and events shaped so that the
next-action rules fire for most reps (a quarter never logged in, some logged in and never
opened an onboarding asset, some onboarded without a lead, some with leads and no deal,
some with deals who went quiet 30+ days ago, the rest busy: nothing to do).

The fake Slack of the tests (`tests/slackfake.py`) runs in a child process, with every rep
and manager added in one of six time zones, so this process does only the bot's work (a
real Slack is on another machine too; an in-process fake would take the GIL from the bot
while it answers). `--fake-in-process` runs it in a thread here instead, for comparison.

Each job runs through `bot.jobs.registry.run_job` (claimed run, ledger, summary) with
`client=job_client(settings)`, as of Monday 2026-11-02 10:30 UTC: 19:30 in Tokyo, 16:00 in
Kolkata, 11:30 in Berlin, 10:30 in London and UTC — inside the 10:00–20:00 send window —
and 05:30 in New York (those reps wait: `skipped:not_now`). Then it runs again at once:
every message is already in the ledger, so the rerun shows what duplicates cost. As
next-actions runs hourly, it also runs as of an hour later: its steady state (everyone
served is within the 7-day cap, New York is still before its send hour).

What is timed, by wrapping functions for the duration of a run (perf_counter, outermost
call only where they nest):

- wall: `run_job` as a whole;
- Slack HTTP: the urllib layer of slack_sdk (`_perform_urllib_http_request_internal`, and
  `_upload_file` for the PNG's upload URL): connect, send, the fake's handling, read;
- Slack SDK: time inside the WebClient calls minus Slack HTTP — slack_sdk building the
  request (form/JSON encoding of blocks) and parsing the answer: CPU of this process;
- KPI: `bot.domain.scorecard.scorecard` (two `build_report`s and nudge_lift per manager);
- chart: `bot.slack.charts.scorecard_png` (matplotlib);
- own cost = wall − Slack HTTP − KPI − chart: what the issue calls rendering, ledger and
  bookkeeping; broken down into loading (the next-action facts, the stored recipients,
  the manager list), ledger (`claim` + `mark`), recipient store (`slack_recipient`
  upserts: time zone, locale, DM channel), rendering (`render_message`), Slack SDK, and
  the rest (rules, fatigue, holdout hash, run claim/finish, the loop itself).

`--profile JOB` runs that job's first run under cProfile (slower; its figures are not
comparable) and prints the top functions; the stats are kept under bench/data/.
A script, not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import logging
import math
import multiprocessing as mp
import os
import platform
import pstats
import random
import sqlite3
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # `tests.slackfake`, and `bot` without an install
DATA = HERE / "data"

NOW = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)  # a Monday; see the module docstring
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_DB = "prm_bench_jobs"
SQLITE_PATH = DATA / "jobs-fanout.db"
TOKEN = "xoxb-bench"
# Reps' Slack time zones (weights); New York is before its send hour at NOW.
REP_ZONES = (
    ("Asia/Tokyo", "ja-JP", 30),
    ("Asia/Kolkata", "en-IN", 10),
    ("Europe/Berlin", "de-DE", 15),
    ("Europe/London", "en-GB", 15),
    ("UTC", "en-US", 15),
    ("America/New_York", "en-US", 15),
)
MANAGER_ZONES = (("Asia/Tokyo", "ja-JP"), ("Europe/London", "en-GB"), ("America/New_York", "en-US"))
# Rep shapes (weights) and the rule each should meet, in rules.yml order.
CATEGORIES = (
    ("never_logged_in", 25),  # → log_in
    ("logged_in_only", 20),  # → onboarding_content
    ("onboarded_no_lead", 15),  # → first_lead
    ("leads_no_deal", 20),  # → first_deal
    ("quiet", 10),  # deals, nothing for 35+ days → reactivate
    ("busy", 10),  # deals and recent activity → nothing to do
)
ASSETS = 10
ONBOARDING = 3  # the first three assets are tagged `onboarding`
TIERS = ("platinum", "gold", "silver", "registered")
CS_OWNERS = 20
JOBS = ("next-actions", "weekly-scorecards")


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# ---- the fake Slack ---------------------------------------------------------------------


def _fake_main(pipe: Any, users: list[tuple[str, str, str]]) -> None:
    """Child process: serve the fake until told to stop; answer call counts on demand."""
    from tests.slackfake import FakeSlack

    fake = FakeSlack(bot_token=TOKEN)
    for user_id, tz, locale in users:
        fake.add_user(user_id, tz=tz, locale=locale)
    fake.start()
    pipe.send(fake.base_url)
    while True:
        command = pipe.recv()
        if command == "counts":
            with fake._cond:
                pipe.send(dict(Counter(c.method for c in fake.calls)))
        elif command == "validate":
            try:
                fake.validate_payloads()
                pipe.send("ok")
            except AssertionError as exc:
                pipe.send(str(exc)[:2000])
        else:
            fake.stop()
            pipe.send("stopped")
            return


class Fake:
    """The fake Slack in a child process (default) or in a thread of this one."""

    def __init__(self, users: list[tuple[str, str, str]], in_process: bool) -> None:
        self.in_process = in_process
        if in_process:
            from tests.slackfake import FakeSlack

            self._fake = FakeSlack(bot_token=TOKEN)
            for user_id, tz, locale in users:
                self._fake.add_user(user_id, tz=tz, locale=locale)
            self._fake.start()
            self.base_url = self._fake.base_url
            return
        ctx = mp.get_context("spawn")
        self._pipe, child = ctx.Pipe()
        self._proc = ctx.Process(target=_fake_main, args=(child, users), daemon=True)
        self._proc.start()
        self.base_url = self._pipe.recv()

    def counts(self) -> Counter[str]:
        if self.in_process:
            with self._fake._cond:
                return Counter(c.method for c in self._fake.calls)
        self._pipe.send("counts")
        return Counter(self._pipe.recv())

    def validate(self) -> str:
        if self.in_process:
            try:
                self._fake.validate_payloads()
                return "ok"
            except AssertionError as exc:
                return str(exc)[:2000]
        self._pipe.send("validate")
        return str(self._pipe.recv())

    def stop(self) -> None:
        if self.in_process:
            self._fake.stop()
            return
        self._pipe.send("stop")
        self._pipe.recv()
        self._proc.join(timeout=10)


# ---- data -------------------------------------------------------------------------------


def fresh_database(backend: str, pg_server: str) -> str:
    from bot.store.engine import dispose_engines, get_engine
    from bot.store.schema import upgrade

    dispose_engines()
    if backend == "sqlite":
        DATA.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{SQLITE_PATH}"
    else:
        import psycopg

        with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_DB}")
        url = f"{pg_server}/{PG_DB}"
    upgrade(get_engine(url))
    return url


def _between(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    span = max((hi - lo).total_seconds(), 1.0)
    return lo + timedelta(seconds=int(rng.random() * span))


def _add_events(
    rng: random.Random,
    events: list[dict],
    partner_id: int,
    user_id: int,
    lo: datetime,
    hi: datetime,
    type_: str,
    n: int,
    obj: str | None = None,
) -> None:
    """`n` events of one type by one rep, at random instants in [lo, hi)."""
    for _ in range(n):
        events.append(
            {
                "event_id": f"be-{len(events):08d}",
                "occurred_at": _between(rng, lo, hi),
                "type": type_,
                "partner_id": partner_id,
                "user_id": user_id,
                "object_key": obj,
                "amount": Decimal("250000") if type_ == "deal.registered" else None,
            }
        )


def build_data(url: str, reps: int, managers: int, per_partner: int, seed: int) -> dict:
    """Partners, reps, assets and events, inserted in bulk with SQLAlchemy core."""
    from sqlalchemy import insert

    from bot.store.engine import get_engine
    from bot.store.tables import Asset, AssetTag, Event, Partner, PartnerUser

    rng = random.Random(seed)
    engine = get_engine(url)
    n_partners = math.ceil(reps / per_partner)
    manager_ids = [f"UMGR{m:05d}" for m in range(managers)]
    partners, users, events = [], [], []
    categories = Counter()
    names, weights = zip(*CATEGORIES, strict=True)
    login, download = "user.login", "content.downloaded"
    lead, deal = "lead.registered", "deal.registered"
    onboarding_keys = [f"asset-{a:02d}" for a in range(ONBOARDING)]
    other_keys = [f"asset-{a:02d}" for a in range(ONBOARDING, ASSETS)]
    quiet_edge = NOW - timedelta(days=35)

    for p in range(n_partners):
        signed = NOW - timedelta(days=rng.randint(90, 540), hours=rng.randint(0, 23))
        partners.append(
            {
                "id": p + 1,
                "key": f"bp-{p:05d}",
                "name": f"Bench Partner {p}",
                "signed_at": signed,
                "signed_on": None,
                "tier": rng.choice(TIERS),
                "manager_slack_id": manager_ids[p % managers],
                "cs_slack_id": f"UCS{p % CS_OWNERS:03d}",
                "slack_channel_id": None,
            }
        )
    for r in range(reps):
        partner = partners[r // per_partner]
        registered = partner["signed_at"] + timedelta(days=rng.randint(1, 30), hours=3)
        category = rng.choices(names, weights)[0]
        categories[category] += 1
        uid = r + 1
        users.append(
            {
                "id": uid,
                "key": f"br-{r:06d}",
                "partner_id": partner["id"],
                "name": f"Bench Rep {r}",
                "email": f"rep{r}@bp-{partner['id']:05d}.example.com",
                "slack_user_id": f"U2{r:08d}",
                "registered_at": registered,
                "registered_on": None,
                "locale": rng.choice(("en", "en", "ja", None)),
                "tips_off_at": registered + timedelta(days=2) if rng.random() < 0.01 else None,
            }
        )
        if category == "never_logged_in":
            continue
        # `quiet` reps did everything long ago; everyone else up to now.
        hi = quiet_edge if category == "quiet" else NOW - timedelta(minutes=5)
        add = functools.partial(_add_events, rng, events, partner["id"], uid, registered, hi)

        add(login, rng.randint(1, 40))
        add(download, rng.randint(0, 4), rng.choice(other_keys))
        if category == "logged_in_only":
            continue
        add(download, rng.randint(1, 3), rng.choice(onboarding_keys))
        add("training.completed", rng.randint(0, 2))
        if category == "onboarded_no_lead":
            continue
        add(lead, rng.randint(1, 12))
        if category == "leads_no_deal":
            continue
        add(deal, rng.randint(1, 4))
        add("deal.won", rng.randint(0, 2))
        if category == "busy":
            recent = NOW - timedelta(days=20)
            _add_events(rng, events, partner["id"], uid, recent, hi, login, rng.randint(1, 5))

    with engine.begin() as conn:
        conn.execute(insert(Partner.__table__), partners)
        for i in range(0, len(users), 5000):
            conn.execute(insert(PartnerUser.__table__), users[i : i + 5000])
        assets = [
            {"id": a + 1, "key": f"asset-{a:02d}", "title": f"Asset {a}", "url": f"https://x/{a}"}
            for a in range(ASSETS)
        ]
        conn.execute(insert(Asset.__table__), assets)
        conn.execute(
            insert(AssetTag.__table__),
            [{"asset_id": a + 1, "tag": "onboarding"} for a in range(ONBOARDING)],
        )
    with engine.begin() as conn:
        for i in range(0, len(events), 5000):
            conn.execute(insert(Event.__table__), events[i : i + 5000])
    if engine.dialect.name == "postgresql":  # what the importer and autovacuum do
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
    return {
        "partners": len(partners),
        "reps": len(users),
        "managers": managers,
        "events": len(events),
        "categories": dict(categories),
        "opted_out": sum(u["tips_off_at"] is not None for u in users),
    }


def slack_users(reps: int, managers: int, seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed + 1)
    zones = [(z, loc) for z, loc, _ in REP_ZONES]
    weights = [w for *_, w in REP_ZONES]
    out = [(f"U2{r:08d}", *rng.choices(zones, weights)[0]) for r in range(reps)]
    out += [(f"UMGR{m:05d}", *MANAGER_ZONES[m % len(MANAGER_ZONES)]) for m in range(managers)]
    return out


# ---- timing -----------------------------------------------------------------------------


class Timers:
    """Seconds and calls per bucket; a bucket's nested calls count once (the outermost)."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._depth: Counter[str] = Counter()

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    def wrap(self, owner: Any, attr: str, bucket: str) -> None:
        original = getattr(owner, attr)
        if getattr(original, "_bench_bucket", None):
            return  # already wrapped (a class attribute seen through a subclass)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth[bucket] += 1
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._depth[bucket] -= 1
                if self._depth[bucket] == 0:
                    self.seconds[bucket] += time.perf_counter() - started
                    self.calls[bucket] += 1

        timed._bench_bucket = bucket  # type: ignore[attr-defined]
        setattr(owner, attr, timed)


def instrument(timers: Timers) -> None:
    from slack_sdk import WebClient
    from slack_sdk.web.base_client import BaseClient

    import bot.jobs.next_actions as next_actions
    import bot.jobs.registry as registry
    import bot.jobs.scorecards as scorecards
    from bot.domain.nudges import facts
    from bot.slack import recipients
    from bot.store import ledger

    timers.wrap(BaseClient, "_perform_urllib_http_request_internal", "slack_http")
    timers.wrap(BaseClient, "_upload_file", "slack_http")
    # Everything inside the client, outermost call: encoding, HTTP, parsing.
    timers.wrap(BaseClient, "api_call", "slack_client")
    for method in ("chat_postMessage", "users_info", "conversations_open", "files_upload_v2"):
        timers.wrap(WebClient, method, "slack_client")
    timers.wrap(scorecards, "scorecard", "kpi")
    timers.wrap(scorecards, "scorecard_png", "chart")
    for name in ("reps", "facts", "past_nudges", "onboarding_assets"):
        timers.wrap(facts, name, "load")
    timers.wrap(recipients, "known", "load")
    timers.wrap(scorecards, "managers", "load")
    timers.wrap(ledger, "claim", "ledger")
    timers.wrap(ledger, "mark", "ledger")
    timers.wrap(recipients, "_upsert", "recipient_store")
    timers.wrap(next_actions, "render_message", "render")
    timers.wrap(scorecards, "render_message", "render")
    timers.wrap(registry, "claim_run", "runs")
    timers.wrap(registry, "finish_run", "runs")


# ---- runs -------------------------------------------------------------------------------


def run_once(
    job: str,
    now: datetime,
    settings: Any,
    engine: Any,
    fake: Fake,
    timers: Timers,
    profile: Path | None,
) -> dict[str, Any]:
    from bot.jobs.registry import run_job
    from bot.slack.client import job_client

    before = fake.counts()
    load_before = os.getloadavg()[0]
    timers.reset()
    client = job_client(settings)
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    summary = run_job(job, settings, engine, now, client=client, echo=lambda _: None)
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - started
    if profiler and profile:
        profiler.dump_stats(str(profile))
    calls = fake.counts() - before
    s, n = dict(timers.seconds), dict(timers.calls)
    http = s.get("slack_http", 0.0)
    sdk = max(s.get("slack_client", 0.0) - http, 0.0)
    kpi, chart = s.get("kpi", 0.0), s.get("chart", 0.0)
    own = wall - http - kpi - chart
    named = sum(s.get(k, 0.0) for k in ("load", "ledger", "recipient_store", "render")) + sdk
    summary = summary or {}
    sent = int(summary.get("sent", 0))
    if job == "next-actions":
        recipients = int(summary.get("reps", 0))
    else:  # every manager with a partner: sent, duplicate, skipped or failed
        recipients = sum(v for k, v in summary.items() if k not in ("charts", "would_send"))
    return {
        "job": job,
        "summary": summary,
        "slack_calls": dict(sorted(calls.items())),
        "sent": sent,
        "charts": int(summary.get("charts", 0)),
        "recipients": recipients,
        "wall_s": wall,
        "slack_http_s": http,
        "slack_sdk_s": sdk,
        "kpi_s": kpi,
        "chart_s": chart,
        "own_s": own,
        "load_s": s.get("load", 0.0),
        "ledger_s": s.get("ledger", 0.0),
        "ledger_calls": n.get("ledger", 0),
        "recipient_store_s": s.get("recipient_store", 0.0),
        "recipient_store_calls": n.get("recipient_store", 0),
        "render_s": s.get("render", 0.0),
        "runs_s": s.get("runs", 0.0),
        "rest_s": own - named,
        "profiled": bool(profiler),
        # 1-minute load average before and after: the machine is shared; over ~1 the
        # other core was busy too (tests, builds), and every figure is slower.
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def per(seconds: float, n: int) -> float | None:
    return seconds / n * 1000 if n else None


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


COLUMNS = (
    "job",
    "run",
    "sent",
    "recipients",
    "wall s",
    "ms/msg",
    "Slack HTTP s",
    "Slack SDK s",
    "KPI s",
    "chart s",
    "own s",
    "own ms/msg",
    "≤ 5 ms",
)
BREAKDOWN = (
    "job",
    "run",
    "load s",
    "ledger s (calls)",
    "recipient store s (calls)",
    "render s",
    "Slack SDK s",
    "rest s",
    "own ms/msg",
)


def rows(results: list[dict[str, Any]]) -> tuple[list[list[str]], list[list[str]]]:
    main, parts = [], []
    for r in results:
        run = r["run"]
        label = f"{r['sent']:,}" + (f" + {r['charts']:,} charts" if r["charts"] else "")
        # A rerun sends nothing: its cost is per recipient considered.
        n = r["sent"] if r["sent"] else r["recipients"]
        unit = "" if r["sent"] else " /recipient"
        own_ms = per(r["own_s"], n)
        main.append(
            [
                r["job"],
                run,
                label,
                f"{r['recipients']:,}",
                f"{r['wall_s']:.1f}",
                fmt_ms(per(r["wall_s"], n)) + unit,
                f"{r['slack_http_s']:.1f}",
                f"{r['slack_sdk_s']:.1f}",
                f"{r['kpi_s']:.1f}",
                f"{r['chart_s']:.1f}",
                f"{r['own_s']:.1f}",
                fmt_ms(own_ms) + unit,
                ("yes" if own_ms is not None and own_ms <= 5 else "**no**") if r["sent"] else "",
            ]
        )
        parts.append(
            [
                r["job"],
                run,
                f"{r['load_s']:.2f}",
                f"{r['ledger_s']:.2f} ({r['ledger_calls']:,})",
                f"{r['recipient_store_s']:.2f} ({r['recipient_store_calls']:,})",
                f"{r['render_s']:.2f}",
                f"{r['slack_sdk_s']:.2f}",
                f"{r['rest_s']:.2f}",
                fmt_ms(own_ms) + unit,
            ]
        )
    return main, parts


def print_table(header: tuple[str, ...], body: list[list[str]], markdown: bool) -> None:
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|")
        for row in body:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in body:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def machine(backend: str, url: str) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    if backend == "postgresql":
        from bot.store.engine import get_engine

        with get_engine(url).connect() as conn:
            info["postgresql"] = conn.exec_driver_sql("SHOW server_version").scalar_one()
    return info


def wait_quiet(threshold: float, limit_s: float = 600.0) -> None:
    if threshold <= 0:
        return
    deadline = time.monotonic() + limit_s
    while os.getloadavg()[0] >= threshold and time.monotonic() < deadline:
        time.sleep(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--reps", type=int, default=10_000)
    parser.add_argument("--managers", type=int, default=500)
    parser.add_argument("--reps-per-partner", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261102)
    parser.add_argument("--pg-server", default=PG_SERVER)
    parser.add_argument("--jobs", default=",".join(JOBS), help="comma-separated, in order")
    parser.add_argument("--markdown", action="store_true", help="print Markdown table rows")
    parser.add_argument("--fake-in-process", action="store_true")
    parser.add_argument("--validate", action="store_true", help="check every payload at the end")
    parser.add_argument("--profile", choices=JOBS, help="cProfile that job's first run")
    parser.add_argument(
        "--pg-synchronous-commit",
        choices=("on", "off"),
        default="on",
        help="an experiment: `off` shows how much of the cost is waiting for WAL flushes",
    )
    parser.add_argument(
        "--quiet-load",
        type=float,
        default=0.0,
        help="before each run, wait (up to 10 min) for the 1-minute load average to drop "
        "below this (the machine is shared); 0 = do not wait",
    )
    args = parser.parse_args()
    jobs = [j for j in args.jobs.split(",") if j]
    logging.basicConfig(level=logging.WARNING)

    from bot.core.settings import Settings
    from bot.store.engine import get_engine

    log(f"{args.backend}: fresh database")
    url = fresh_database(args.backend, args.pg_server)
    started = time.perf_counter()
    data = build_data(url, args.reps, args.managers, args.reps_per_partner, args.seed)
    data["build_s"] = time.perf_counter() - started
    log(
        f"{args.backend}: {data['partners']:,} partners, {data['reps']:,} reps, "
        f"{data['events']:,} events, {args.managers} managers in {data['build_s']:.1f}s"
    )
    if args.backend == "postgresql" and args.pg_synchronous_commit == "off":
        from bot.store.engine import dispose_engines

        with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql(f"ALTER DATABASE {PG_DB} SET synchronous_commit = off")
        dispose_engines()  # new connections pick the setting up
    users = slack_users(args.reps, args.managers, args.seed)
    fake = Fake(users, in_process=args.fake_in_process)
    log(f"fake Slack at {fake.base_url} ({'thread' if args.fake_in_process else 'process'})")
    settings = Settings(
        _env_file=None,
        database_url=url,
        slack_bot_token=TOKEN,
        slack_api_url=fake.base_url,
        holdout_share=0.1,
        timezone="UTC",
    )
    engine = get_engine(url)
    timers = Timers()
    instrument(timers)
    tag = f"{args.backend}-{args.reps}x{args.managers}"
    if args.backend == "postgresql" and args.pg_synchronous_commit == "off":
        tag += "-async"
    results: list[dict[str, Any]] = []
    try:
        for job in jobs:
            # The first run sends; the rerun (same instant) finds every key in the ledger;
            # next-actions runs hourly, so the next hour's run is its steady state.
            runs = [("first", NOW), ("rerun", NOW)]
            if job == "next-actions":
                runs.append(("next hour", NOW + timedelta(hours=1)))
            for run, now in runs:
                profile = None
                if args.profile == job and run == "first":
                    profile = DATA / f"jobs-fanout-{tag}-{job}.prof"
                wait_quiet(args.quiet_load)
                log(f"{job}: {run} run{' (profiled)' if profile else ''}")
                result = run_once(job, now, settings, engine, fake, timers, profile)
                result["run"] = run
                results.append(result)
                log(
                    f"  {result['wall_s']:.1f}s (load {result['load']}), sent {result['sent']:,}; "
                    f"summary {result['summary']}; calls {result['slack_calls']}"
                )
                if profile:
                    stats = pstats.Stats(str(profile))
                    stats.sort_stats("cumulative").print_stats(40)
                    stats.sort_stats("tottime").print_stats(25)
        validation = fake.validate() if args.validate else "not run"
    finally:
        fake.stop()

    out = {
        "backend": args.backend,
        "args": vars(args),
        "now": NOW.isoformat(),
        "data": data,
        "machine": machine(args.backend, url),
        "measured": datetime.now(UTC).isoformat(timespec="minutes"),
        "fake": "thread" if args.fake_in_process else "process",
        "validation": validation,
        "results": results,
    }
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / f"jobs-fanout-{tag}.json").write_text(json.dumps(out, indent=1, default=str))

    main_rows, part_rows = rows(results)
    print(
        f"\n{args.backend}: {data['reps']:,} reps at {data['partners']:,} partners, "
        f"{args.managers} managers, {data['events']:,} events; as of {NOW.isoformat()}; "
        f"fake Slack in a {out['fake']}; payload validation: {validation}"
        + ("; PostgreSQL synchronous_commit=off" if tag.endswith("-async") else "")
    )
    print_table(COLUMNS, main_rows, args.markdown)
    print()
    print_table(BREAKDOWN, part_rows, args.markdown)
    for r in results:
        print(f"{r['job']} {r['run']}: {r['summary']}")


if __name__ == "__main__":
    main()
