"""Job runs: each scheduled occurrence is claimed by one instance (a unique row), and
every run leaves its summary for `prm jobs history`."""

from __future__ import annotations

import json
import socket
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.models import JobRun

R = JobRun.__table__


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
                        status="running",
                        host=socket.gethostname()[:128],
                    )
                    .returning(R.c.id)
                ).scalar_one()
            )
    except IntegrityError:
        return None


def finish_run(
    engine: Engine, run_id: int, status: str, summary: dict[str, Any], now: datetime
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(R)
            .where(R.c.id == run_id)
            .values(status=status, finished_at=now, summary=json.dumps(summary, sort_keys=True))
        )


def recent_runs(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(R).order_by(R.c.started_at.desc(), R.c.id.desc()).limit(limit))
        return [{**r._mapping, "summary": json.loads(r.summary) if r.summary else {}} for r in rows]
