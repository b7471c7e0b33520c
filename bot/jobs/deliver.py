"""Send one message through the ledger: claim → send → mark, and count what happened.

Slack's answers sort into three kinds: sent; a permanent refusal for this recipient
(recorded, counted, the run goes on); a temporary failure (marked `retry`, so the next
run may try that key again). 429s are waited out by slack_sdk's retry handler first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.jobs import ledger
from bot.jobs.context import JobContext
from bot.render.blocks import Rendered, to_plain

log = logging.getLogger(__name__)

PERMANENT_ERRORS = frozenset(
    {
        "user_not_found",
        "channel_not_found",
        "not_in_channel",
        "account_inactive",
        "cannot_dm_bot",
        "is_archived",
        "user_disabled",
        "users_not_found",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "restricted_action",
        "missing_scope",
        "not_allowed_token_type",
    }
)


class Undeliverable(Exception):
    """No way to reach this recipient (no Slack id, no partner channel)."""


def slack_error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or f"http_{exc.response.status_code}")
    return type(exc).__name__


def deliver(
    ctx: JobContext,
    entry: ledger.Entry,
    message: Rendered,
    channel: Callable[[], str],
    *,
    chart: tuple[bytes, str, str] | None = None,
    label: str = "",
) -> str:
    """Returns the outcome: sent, duplicate, failed, retry, dry_run."""
    if ctx.dry_run:
        ctx.echo(f"→ {entry.recipient} [{entry.kind}{' ' + label if label else ''}]")
        ctx.echo("  " + to_plain(message.blocks).replace("\n", "\n  "))
        if chart:
            ctx.echo(f"  + chart {chart[1]} ({len(chart[0]):,} bytes)")
        ctx.count("would_send")
        return "dry_run"
    assert ctx.client is not None
    delivery_id = ledger.claim(ctx.ledger_bind, entry, ctx.now, ctx.run_id)
    if delivery_id is None:
        ctx.count("duplicate")
        return "duplicate"
    try:
        channel_id = channel()
        response = ctx.client.chat_postMessage(
            channel=channel_id,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
    except Undeliverable as exc:
        ledger.mark(ctx.ledger_bind, delivery_id, ledger.UNDELIVERABLE, now=ctx.now, error=str(exc))
        ctx.count("undeliverable")
        return "undeliverable"
    except (SlackApiError, SlackClientError, OSError) as exc:
        return _failed(ctx, delivery_id, entry, exc)
    ledger.mark(
        ctx.ledger_bind,
        delivery_id,
        ledger.SENT,
        now=ctx.now,
        channel_id=channel_id,
        message_ts=response.get("ts"),
    )
    ctx.count("sent")
    if chart:
        upload_chart(ctx, entry, channel_id, chart)
    return "sent"


def upload_chart(ctx: JobContext, entry: ledger.Entry, channel_id: str, chart: tuple) -> None:
    """The chart is its own ledger entry: a rerun after a failed upload uploads only it."""
    png, filename, title = chart
    chart_entry = ledger.Entry(
        key=entry.key + ":chart", job=entry.job, kind="chart", recipient=entry.recipient
    )
    delivery_id = ledger.claim(ctx.ledger_bind, chart_entry, ctx.now, ctx.run_id)
    if delivery_id is None:
        return
    try:
        ctx.client.files_upload_v2(  # type: ignore[union-attr]
            channel=channel_id, content=png, filename=filename, title=title
        )
    except (SlackApiError, SlackClientError, OSError) as exc:
        _failed(ctx, delivery_id, chart_entry, exc)
        return
    ledger.mark(ctx.ledger_bind, delivery_id, ledger.SENT, now=ctx.now, channel_id=channel_id)
    ctx.count("charts")


def _failed(ctx: JobContext, delivery_id: int, entry: ledger.Entry, exc: Exception) -> str:
    error = slack_error(exc)
    permanent = error in PERMANENT_ERRORS
    status = ledger.FAILED if permanent else ledger.RETRY
    ledger.mark(ctx.ledger_bind, delivery_id, status, now=ctx.now, error=error[:64])
    log.warning("%s to %s: %s (%s)", entry.kind, entry.recipient, error, status)
    ctx.count(f"failed:{error}" if permanent else f"retry:{error}")
    return "failed" if permanent else "retry"
