"""A job's message: claim it in the ledger, send it once, mark what happened.

The Slack side of one attempt (and what a failure means) is `bot.slack.delivery`; this
module adds what a job run brings: its run id, dry run, counters and recipient cache.
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot.jobs.context import JobContext
from bot.slack import recipients
from bot.slack.blocks import Rendered, to_plain
from bot.slack.delivery import (
    AUTH_ERRORS,
    Outcome,
    Transport,
    attempt,
    post_payload,
    upload_payload,
)
from bot.store import ledger

NOT_INSTALLED = "no_installation"


def job_transport(ctx: JobContext, client: WebClient) -> Transport:
    return Transport(
        client,
        lambda user: recipients.dm_channel(
            ctx.engine, client, user, ctx.known.get(user), ctx.writes
        ),
        ctx.engine,
    )


def deliver(
    ctx: JobContext,
    entry: ledger.Entry,
    message: Rendered,
    to: dict[str, str] | None,
    *,
    chart: tuple[bytes, str, str] | None = None,
    label: str = "",
    team: str | None = None,
) -> str:
    """A job's message: claim → send → mark. Returns sent, duplicate, failed, retry,
    ambiguous, undeliverable or dry_run. `to` None: no way to reach the recipient.
    `team`: the workspace the recipient is in (None: the vendor's); the message goes out
    with that workspace's own token, and so do its retries."""
    if ctx.dry_run:
        ctx.echo(f"→ {entry.recipient} [{entry.kind}{' ' + label if label else ''}]")
        ctx.echo("  " + to_plain(message.blocks).replace("\n", "\n  "))
        if chart:
            ctx.echo(f"  + chart {chart[1]} ({len(chart[0]):,} bytes)")
        ctx.count("would_send")
        return "dry_run"
    payload = post_payload(message, to or {"why": "no_slack_id_or_channel"}, team)
    outcome = _claim_and_send(ctx, entry, payload)
    if outcome is None:
        ctx.count("duplicate")
        return "duplicate"
    ctx.count(outcome.counted)
    if chart:
        upload_chart(ctx, entry, chart, team)
    return outcome.status


def upload_chart(
    ctx: JobContext, entry: ledger.Entry, chart: tuple[bytes, str, str], team: str | None = None
) -> None:
    """The chart is its own ledger entry, attached to the message's: a rerun after a
    failed upload uploads only it; while the message is not in Slack, the chart waits."""
    png, filename, title = chart
    chart_entry = ledger.Entry(
        key=entry.key + ":chart", job=entry.job, kind="chart", recipient=entry.recipient
    )
    payload = upload_payload(png, filename, title, entry.key) | {"team": team}
    outcome = _claim_and_send(ctx, chart_entry, payload)
    if outcome is not None:
        ctx.count("charts" if outcome.status == ledger.SENT else f"chart:{outcome.counted}")


def _claim_and_send(ctx: JobContext, entry: ledger.Entry, payload: dict) -> Outcome | None:
    wall = ctx.wall()
    delivery_id = ledger.claim(
        ctx.ledger_bind,
        entry,
        ctx.now,
        ctx.run_id,
        payload=payload,
        wall=wall,
        give_up_at=wall + ctx.retry_for,
        keep_payload=False,  # written only if this send fails: the fan-out's happy path
    )
    if delivery_id is None:
        return None
    owed = ledger.Owed(delivery_id, entry.key, entry.kind, entry.recipient, 1, payload, False)
    team = payload.get("team")
    client = ctx.client_for(team)
    if client is None:  # removed from that workspace (or never installed): not sent, ever
        ledger.mark(ctx.ledger_bind, delivery_id, ledger.FAILED, now=ctx.now, error=NOT_INSTALLED)
        return Outcome(ledger.FAILED, NOT_INSTALLED)
    outcome = attempt(ctx.ledger_bind, job_transport(ctx, client), owed, now=ctx.now, wall=wall)
    if outcome.error in AUTH_ERRORS and ctx.clients is not None:
        ctx.clients.forget(team)  # revoked or rotated: looked up again, never retried here
    return outcome
