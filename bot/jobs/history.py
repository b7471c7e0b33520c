"""What `prm jobs history` shows besides runs: ambiguous and failed deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from bot.jobs import ledger


def ambiguous_and_failed(engine: Engine, now: datetime, limit: int) -> dict[str, list[dict]]:
    D = ledger.D
    with engine.connect() as conn:
        failed = [
            dict(r._mapping)
            for r in conn.execute(
                select(D.c.key, D.c.recipient, D.c.error, D.c.created_at)
                .where(D.c.status == ledger.FAILED)
                .order_by(D.c.created_at.desc())
                .limit(limit)
            )
        ]
        return {"ambiguous": ledger.ambiguous(conn, now), "failed": failed}
