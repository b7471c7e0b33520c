"""Job runs: each scheduled occurrence is claimed by one instance (a unique row), and
every run leaves its summary for `prm jobs history`.

A run says which process runs it (host and PID namespace, pid) and keeps saying it is
alive (a heartbeat every HEARTBEAT seconds). A run still `running` whose process is gone
(seen from the same host and PID namespace) or whose heartbeat has been silent for
SILENT_AFTER (any host; long, so that a database outage or clock skew does not pass for
a death) was killed: `reap` marks it `interrupted`, so history never shows it running
forever and its in-flight deliveries are listed as ambiguous.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.engine import table_of
from bot.store.tables import JobRun

R = table_of(JobRun)
RUNNING, INTERRUPTED = "running", "interrupted"
HEARTBEAT = timedelta(seconds=30)
SILENT_AFTER = timedelta(minutes=15)


def _host() -> str:
    """This host as seen from this process: its name and PID namespace (two containers
    may share a hostname; a pid means something only inside its own namespace)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:").strip("[]")
    except OSError:
        namespace = ""
    name = socket.gethostname()[:100]
    return f"{name} pid-ns {namespace}" if namespace else name


def claim_run(
    engine: Engine, job: str, occurrence: str, as_of: datetime, now: datetime
) -> int | None:
    """Insert the (job, occurrence) row; None if another instance already claimed it."""
    try:
        with engine.begin() as conn:
            return int(
                conn.execute(
                    insert(R)
                    .values(
                        job=job,
                        occurrence=occurrence,
                        as_of=as_of,
                        started_at=now,
                        status=RUNNING,
                        host=_host(),
                        pid=os.getpid(),
                        heartbeat_at=now,
                    )
                    .returning(R.c.id)
                ).scalar_one()
            )
    except IntegrityError:
        return None


@contextmanager
def heartbeat(engine: Engine, run_id: int, wall: Callable[[], datetime]) -> Iterator[None]:
    """While the block runs, the run's row says every HEARTBEAT that it is alive."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT.total_seconds()):
            try:
                with engine.begin() as conn:
                    conn.execute(update(R).where(R.c.id == run_id).values(heartbeat_at=wall()))
            except Exception:  # the database away for a moment: the next beat will do
                continue

    thread = threading.Thread(target=beat, name=f"prm-heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def finish_run(
    engine: Engine, run_id: int, status: str, summary: dict[str, Any], now: datetime
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(R)
            .where(R.c.id == run_id)
            .values(status=status, finished_at=now, summary=json.dumps(summary, sort_keys=True))
        )


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def reap(engine: Engine, wall: datetime) -> int:
    """Mark the runs whose process died `interrupted`; returns how many."""
    host = _host()
    with engine.connect() as conn:
        running = conn.execute(
            select(R.c.id, R.c.host, R.c.pid, R.c.heartbeat_at, R.c.started_at).where(
                R.c.status == RUNNING
            )
        ).all()
    dead = [
        r.id
        for r in running
        if (r.host == host and r.pid and not _alive(r.pid))
        or (r.heartbeat_at or r.started_at) < wall - SILENT_AFTER
    ]
    if dead:
        with engine.begin() as conn:
            conn.execute(
                update(R).where(R.c.id.in_(dead), R.c.status == RUNNING).values(status=INTERRUPTED)
            )
    return len(dead)


def recent_runs(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(R).order_by(R.c.started_at.desc(), R.c.id.desc()).limit(limit))
        return [{**r._mapping, "summary": json.loads(r.summary) if r.summary else {}} for r in rows]
