"""Sending one owed message to Slack, and reading Slack's answer into the ledger.

What a failure means decides what happens next:

- **Slack plainly did not get it** — the connection was refused or never made, 429 /
  `ratelimited`, a refusal such as `channel_not_found`, or any failure before the post
  itself (opening the DM): `retry`, with backoff (Retry-After when Slack gives one), by
  the running bot until the message's `give_up_at`; refusals only a few times.
- **Nobody knows** — a timeout or a dropped connection after the request went out,
  `internal_error` / `fatal_error`, an HTTP 5xx: `ambiguous`, never resent
  automatically (it may be in the person's DM already). An update of a message
  (`chat.update`) is safe to repeat, so for it these are `retry` too.
- **Refused for good** — `user_not_found`, `is_archived`, `invalid_blocks`, …: `failed`.

The payload is what `chat.postMessage` (or `chat.update`, or a file upload) gets, as
JSON, so a retry or a resend by hand sends exactly what was written.
"""

from __future__ import annotations

import base64
import http.client
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.error import HTTPError, URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError
from sqlalchemy import Engine

from bot.slack.blocks import Rendered
from bot.slack.client import http_status, slack_error
from bot.store import ledger

log = logging.getLogger(__name__)

PERMANENT_ERRORS = frozenset(
    {
        "user_not_found",
        "account_inactive",
        "cannot_dm_bot",
        "is_archived",
        "user_disabled",
        "users_not_found",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "restricted_action",
        "missing_scope",
        "not_allowed_token_type",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "no_permission",
        "team_access_not_granted",
        "ekm_access_denied",
        "channel_is_archived",
        "too_many_attachments",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
    }
)
# The token itself is refused: the client that holds it must be looked up again.
AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
# Slack's own words for "it may have happened anyway".
MAYBE_DONE_ERRORS = frozenset({"internal_error", "fatal_error"})
# Not taken, try again later: no more than a few times (the data may be wrong).
REFUSAL_ATTEMPTS = 5
BACKOFF_FIRST = timedelta(seconds=5)
BACKOFF_MAX = timedelta(seconds=60)  # Slack back for a minute → the message within ~a minute

POST, UPDATE, UPLOAD = "chat.postMessage", "chat.update", "files.upload"
IDEMPOTENT = frozenset({UPDATE})


class Undeliverable(Exception):
    """No way to reach this recipient (no Slack id, no partner channel, no manager)."""


class NotYet(Exception):
    """The message this one updates or attaches to is not in Slack yet."""


class _BeforeSend(Exception):
    """Failed before the message itself was sent (opening the DM, finding its target)."""

    def __init__(self, cause: Exception):
        super().__init__(str(cause))
        self.cause = cause


@dataclass(frozen=True)
class Fate:
    status: str  # ledger.RETRY, AMBIGUOUS or FAILED
    error: str
    retry_after: float | None = None
    limited: bool = False  # a refusal: retried only REFUSAL_ATTEMPTS times


def _retry_after(exc: SlackApiError) -> float | None:
    headers = getattr(exc.response, "headers", None) or {}
    for name, value in dict(headers).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return None
    return None


def classify(exc: Exception, *, reached: bool, idempotent: bool, method: str = POST) -> Fate:
    """What a failure means for the message (module docstring). `reached`: the failing
    request was the post itself, not a lookup before it."""
    if isinstance(exc, _BeforeSend):
        return classify(exc.cause, reached=False, idempotent=True)
    error = slack_error(exc)
    if method == UPLOAD and isinstance(exc, HTTPError | SlackRequestError):
        # Only the upload of the file's bytes to its upload URL fails this way (the API
        # calls answer SlackApiError), and nothing is shared before the completing call.
        return Fate(ledger.RETRY, error, limited=True)
    if isinstance(exc, NotYet):
        return Fate(ledger.RETRY, "waiting_for_message")
    if isinstance(exc, SlackApiError):
        status = http_status(exc)
        if status == 429 or error == "ratelimited":
            return Fate(ledger.RETRY, error, _retry_after(exc))
        if error in PERMANENT_ERRORS:
            return Fate(ledger.FAILED, error)
        if error in MAYBE_DONE_ERRORS or status >= 500:
            maybe = reached and not idempotent
            return Fate(ledger.AMBIGUOUS if maybe else ledger.RETRY, error)
        return Fate(ledger.RETRY, error, limited=True)
    if isinstance(exc, URLError) and not isinstance(exc, HTTPError):
        return Fate(ledger.RETRY, error)  # the request never left: nothing to doubt
    if isinstance(exc, OSError | http.client.HTTPException):
        # Sent, then no (complete) answer: Slack may well have posted it.
        maybe = reached and not idempotent
        return Fate(ledger.AMBIGUOUS if maybe else ledger.RETRY, error)
    if isinstance(exc, SlackClientError):
        return Fate(ledger.FAILED, error)  # we built a request Slack's client refused
    return Fate(ledger.AMBIGUOUS if reached and not idempotent else ledger.RETRY, error)


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    wait = min(BACKOFF_MAX, BACKOFF_FIRST * (2 ** max(0, attempts - 1)))
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return wait


# --- payloads ---------------------------------------------------------------------------


def post_payload(message: Rendered, to: dict[str, str], team: str | None = None) -> dict:
    """A new message to `{"user": U…}` (their DM with the bot) or `{"channel": C…}`."""
    return {
        "method": POST,
        "to": to,
        "team": team,
        "text": message.text,
        "blocks": message.blocks,
    }


def update_payload(message: Rendered, ref: str, team: str | None = None) -> dict:
    """A new version of the message sent under ledger key `ref`."""
    return {
        "method": UPDATE,
        "ref": ref,
        "team": team,
        "text": message.text,
        "blocks": message.blocks,
    }


def upload_payload(content: bytes, filename: str, title: str, ref: str) -> dict:
    """A file shared into the conversation of the message sent under `ref` (the bytes
    stay bytes until the ledger has to keep them: then base64, see ledger._json)."""
    return {"method": UPLOAD, "ref": ref, "filename": filename, "title": title,
            "content": content}  # fmt: skip


@dataclass
class Transport:
    """What sending needs: a client for the team, the way to a user's DM, the ledger."""

    client: WebClient
    dm_channel: Callable[[str], str]
    engine: Engine


def _where(transport: Transport, ref: str) -> tuple[str, str]:
    with transport.engine.connect() as conn:
        found = ledger.where_sent(conn, ref)
    if found is None:
        raise NotYet(ref)
    return found


def transmit(transport: Transport, payload: dict[str, Any]) -> tuple[str, str | None]:
    """Make the one Slack call the payload describes; (channel, ts) when it succeeds.

    Failures before that call are wrapped in `_BeforeSend`: nothing was posted yet.
    """
    method = payload.get("method")
    client = transport.client
    try:
        if method == POST:
            to = payload.get("to") or {}
            if to.get("channel"):
                channel = str(to["channel"])
            elif to.get("user"):
                channel = transport.dm_channel(str(to["user"]))
            else:
                raise Undeliverable(str(to.get("why") or "no_destination"))
        else:
            channel, ts = _where(transport, str(payload.get("ref")))
    except (Undeliverable, NotYet):
        raise
    except Exception as exc:
        raise _BeforeSend(exc) from exc
    if method == POST:
        response = client.chat_postMessage(
            channel=channel,
            text=payload["text"],
            blocks=payload["blocks"],
            unfurl_links=False,
            unfurl_media=False,
        )
        return channel, str(response.get("ts") or "")
    if method == UPDATE:
        client.chat_update(channel=channel, ts=ts, text=payload["text"], blocks=payload["blocks"])
        return channel, ts
    if method == UPLOAD:
        client.files_upload_v2(
            channel=channel,
            content=_bytes(payload["content"]),
            filename=payload["filename"],
            title=payload["title"],
        )
        return channel, None
    raise SlackClientError(f"unknown payload method {method!r}")


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str | None = None

    @property
    def counted(self) -> str:
        """How a job run's summary counts it: `sent`, `retry:ratelimited`, …"""
        if self.status in (ledger.SENT, ledger.UNDELIVERABLE) or not self.error:
            return self.status
        return f"{self.status}:{self.error}"


def _bytes(content: bytes | str) -> bytes:
    return content if isinstance(content, bytes) else base64.b64decode(content)


def attempt(
    bind: Engine | Any,
    transport: Transport,
    owed: ledger.Owed,
    *,
    now: datetime,
    wall: datetime,
) -> Outcome:
    """Send a row someone has just taken and mark it."""
    if owed.payload is None:
        # A row written before messages were kept: only its job can write it again.
        ledger.mark(bind, owed.id, ledger.RETRY, now=now, error="no_stored_message")
        return Outcome(ledger.RETRY, "no_stored_message")
    idempotent = owed.payload.get("method") in IDEMPOTENT
    try:
        channel, ts = transmit(transport, owed.payload)
    except Undeliverable as exc:
        ledger.mark(bind, owed.id, ledger.UNDELIVERABLE, now=now, error=str(exc))
        return Outcome(ledger.UNDELIVERABLE, str(exc))
    except Exception as exc:
        fate = classify(exc, reached=True, idempotent=idempotent, method=owed.payload["method"])
        status = fate.status
        if status == ledger.RETRY and fate.limited and owed.attempts >= REFUSAL_ATTEMPTS:
            status = ledger.FAILED
        retry_at = wall + backoff(owed.attempts, fate.retry_after)
        ledger.mark(
            bind,
            owed.id,
            status,
            now=now,
            error=fate.error,
            next_attempt_at=retry_at,
            payload=owed.payload if owed.kept is False else None,
        )
        level = logging.ERROR if status == ledger.AMBIGUOUS else logging.WARNING
        log.log(level, "%s %s: %s (%s)", owed.kind, owed.key, fate.error, status)
        return Outcome(status, fate.error)
    ledger.mark(bind, owed.id, ledger.SENT, now=now, channel_id=channel, message_ts=ts)
    return Outcome(ledger.SENT)
