"""`prm jobs run` as real processes: killed mid-fan-out and rerun, two runs at once.

A process is started where the test needs one (to be killed, to run beside another, to
print its own output); what merely follows it (a rerun after the kill, `prm jobs history`)
is the same command run in-process (`cli`), against the same database and fake Slack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter

from tests.jobs.conftest import MANAGER_A, MANAGER_B

TOKYO_MORNING = "2026-11-02T02:00:00Z"
MONDAY = "2026-11-02T09:00:00Z"


def _env(jobs) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRM_", "SLACK_"))}
    env.update(
        PRM_DATABASE_URL=jobs.settings.database_url,
        PRM_SLACK_API_URL=jobs.fake.base_url,
        SLACK_BOT_TOKEN="xoxb-test",
        PRM_HOLDOUT_SHARE="0",
    )
    return env


def _prm_here(jobs, cli, *args: str):
    """The same `prm` command in this process (no interpreter start-up to pay)."""
    env = {k: v for k, v in _env(jobs).items() if k.startswith(("PRM_", "SLACK_"))}
    return cli(*args, env=env)


def _prm(jobs, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", *args],
        env=_env(jobs),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _runs(jobs) -> list[dict]:
    from sqlalchemy import select

    from bot.store.tables import JobRun

    with jobs.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(JobRun.__table__))]


def per_channel(jobs, method: str = "chat.postMessage") -> Counter:
    return Counter(
        c.params.get("channel") or c.params.get("channel_id") for c in jobs.fake.calls_to(method)
    )


def test_killed_mid_fan_out_and_rerun_no_rep_gets_two_and_at_most_one_is_lost(jobs, cli):
    arrived, release = jobs.fake.hold_next("chat.postMessage")
    proc = _prm(jobs, "jobs", "run", "next-actions", "--as-of", TOKYO_MORNING)
    assert arrived.wait(timeout=60), "the run never reached Slack"
    proc.send_signal(signal.SIGKILL)  # killed while Slack holds the first message
    proc.wait(timeout=30)
    release.set()

    rerun = _prm_here(jobs, cli, "jobs", "run", "next-actions", "--as-of", TOKYO_MORNING)
    assert rerun.exit_code == 0, rerun.output
    counts = per_channel(jobs)
    assert max(counts.values()) == 1  # nobody twice
    assert len(counts) == 2  # both Tokyo reps reached: the held one counts as sent by Slack
    pending = [r for r in jobs.ledger() if r["status"] == "pending"]
    assert len(pending) == 1  # the one in flight: ambiguous, listed, never resent

    out = _prm_here(jobs, cli, "jobs", "history").output
    assert "1 ambiguous delivery" in out and pending[0]["key"] in out
    # The killed run is not "running" forever: its process is gone.
    assert "interrupted" in out
    statuses = sorted(r["status"] for r in _runs(jobs))
    assert statuses == ["done", "interrupted"]


def test_two_concurrent_runs_send_each_scorecard_once(jobs):
    runs = [_prm(jobs, "jobs", "run", "weekly-scorecards", "--as-of", MONDAY) for _ in range(2)]
    outputs = [run.communicate(timeout=180)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    counts = per_channel(jobs)
    assert sorted(counts.values()) == [1, 1]
    uploads = per_channel(jobs, "files.completeUploadExternal")
    assert sum(uploads.values()) == 2
    recipients = {r["recipient"] for r in jobs.ledger() if r["kind"] == "scorecard"}
    assert recipients == {MANAGER_A, MANAGER_B}


def test_a_rerun_sends_nothing_more(jobs, cli):
    first = _prm_here(jobs, cli, "jobs", "run", "weekly-scorecards", "--as-of", MONDAY)
    assert first.exit_code == 0, first.output
    rerun = _prm(jobs, "jobs", "run", "weekly-scorecards", "--as-of", MONDAY)
    out, _ = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, out
    assert "duplicate 2" in out
    assert sorted(per_channel(jobs).values()) == [1, 1]
