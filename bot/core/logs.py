"""Log redaction: no capability URL, token or personal link reaches a log, at any level.

What is hidden (docs/deploy.md, "What the logs never contain"):

- Slack tokens (`xoxb-…`, `xoxp-…`, `xapp-…`, `xoxe-…`): the prefix stays, the rest goes;
- Slack's hooks URLs (`https://hooks.slack.com/…`: response_url, incoming webhooks) and any
  `response_url` value, whatever its host; every URL logged by slack_sdk's webhook client
  (it only ever calls such URLs);
- tracked content links (`/c/<token>`, and a bare `v1.<payload>.<mac>` token): each is a
  personal link that credits a rep; partner install links (`?partner=<token>`, a bare
  `i1.<payload>.<mac>`): each installs the bot for a partner;
- OAuth values (`code`, `state`, the state cookie, `client_secret`), `Authorization` header
  values (Bearer and Basic), and values of keys named like tokens or secrets;
- any literal secret registered with `add_secrets` (`prm serve` registers its settings').

The text around them stays, so a log line still says what happened. URL-encoded (`%2F`) and
JSON-escaped (`\\/`) spellings are covered too, since request and response bodies are logged
that way at debug level.

One mechanism: a LogRecord factory, installed once by `install_log_redaction()` (the `prm`
entry point calls it before any command runs). Every record any logger creates passes
through it, whatever handlers are attached or configured later, so uvicorn's loggers (their
own handlers, `propagate=False`, set up by uvicorn.run after we start) are covered as well
as slack_sdk's and Bolt's. A record is only made for a message that its logger's level lets
through, so debug messages that nobody sees cost nothing here.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[redacted]"
_SEP = r"(?:/|\\/|%2[Ff])"  # a slash as written in a URL, in JSON, or URL-encoded
_COLON = r"(?::|%3[Aa])"

# Values behind these keys are secrets or capabilities, in a form or query string
# (`key=value`), in JSON (`"key": "value"`) and in Python reprs (`'key': 'value'`).
_SECRET_KEYS = (
    r"(?:access_|refresh_|bot_|user_|app_|api_|id_)?token|client_secret|signing_secret|"
    r"secret(?:_key)?|password|passwd|code|state|slack-app-oauth-state|authed_user_token|"
    r"partner(?=%3D|=)"
)
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack tokens: keep the kind, drop the value.
    (re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+"), rf"\1-{MASK}"),
    # Authorization header values (Bearer tokens, Basic client credentials).
    (
        re.compile(r"""(?i)(authorization['"]?\s*[:=]\s*['"]?)(?:bearer|basic)\s+[^'"\s,}]+"""),
        rf"\1{MASK}",
    ),
    # A response_url's value, whatever host it has, however the key and URL are written.
    (
        re.compile(
            r"""(?i)(response_urls?\\?['"]?(?:\s*[:=]\s*|%3D)\\?['"]?\s*)"""
            r"""https?(?:\[redacted\]|\\/|[^\s"'\\&<>,}\[\]])+"""
        ),
        rf"\1{MASK}",
    ),
    # Slack's hooks URLs (response_url, incoming webhooks): keep the host.
    (
        re.compile(
            rf"(?i)(hooks(?:\.[a-z0-9-]+)*\.slack(?:-gov)?\.com){_SEP}"
            rf"(?:\[redacted\]|\\/|[^\s\"'<>|\\&,}}\[\]])*"
        ),
        rf"\1/{MASK}",
    ),
    # Tracked links: /c/<token>, as a path, in JSON or URL-encoded.
    (re.compile(rf"({_SEP})c({_SEP})[A-Za-z0-9._~%-]+"), rf"\1c\2{MASK}"),
    # A bare link token (version, payload, 32-byte MAC): a content link's, an install link's.
    (re.compile(r"\b(?:v1|i1)\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"), MASK),
    # key=value in forms, query strings and cookies.
    (
        re.compile(rf"(?i)(?<![A-Za-z0-9_-])((?:{_SECRET_KEYS})=)[^&\s\"'<>;,]+"),
        rf"\1{MASK}",
    ),
    # "key": "value" (JSON) and 'key': 'value' (Python reprs); objects are left alone.
    (
        re.compile(rf"""(?i)(["'])((?:{_SECRET_KEYS}))\1(\s*:\s*)(["'])(?:\\.|(?!\4)[^\\])*\4"""),
        rf"\1\2\1\3\4{MASK}\4",
    ),
)
# Loggers whose every URL is a capability: slack_sdk's webhook client posts only to
# response_urls and incoming webhooks.
_ALL_URLS_LOGGERS = ("slack_sdk.webhook",)
_ANY_URL = re.compile(
    rf"(?i)(https?{_COLON}{_SEP}{_SEP}[^\s/\"'<>\\%]+)(?:\[redacted\]|[^\s\"'<>,}}\[\]|])*"
)

_secrets_lock = threading.Lock()
_secrets: tuple[str, ...] = ()
_MIN_SECRET = 6  # shorter values are too likely to appear by chance to be replaced


def add_secrets(values: Iterable[str | None]) -> None:
    """Also hide these literal values (tokens, secrets, passwords) wherever they appear."""
    global _secrets
    with _secrets_lock:
        known = set(_secrets)
        known.update(v.strip() for v in values if v and len(v.strip()) >= _MIN_SECRET)
        _secrets = tuple(sorted(known, key=len, reverse=True))


def redact(text: str, *, every_url: bool = False) -> str:
    """`text` with every secret, capability URL and personal link replaced by `[redacted]`."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    if every_url:
        text = _ANY_URL.sub(rf"\1/{MASK}", text)
    return text


def _redact_value(value: Any, every_url: bool) -> Any:
    return redact(value, every_url=every_url) if isinstance(value, str) else value


def redact_record(record: logging.LogRecord) -> None:
    """Rewrite the record in place so that nothing it will print needs hiding.

    String arguments are redacted one by one, keeping the record's shape (uvicorn's access
    formatter reads `args` as a tuple). If the formatted message still holds something to
    hide (an argument that is an object, a dict of a request body), the message is formatted
    here, redacted, and the arguments dropped.
    """
    every_url = record.name.startswith(_ALL_URLS_LOGGERS)
    try:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg, every_url=every_url)
            if isinstance(record.args, tuple):
                record.args = tuple(_redact_value(a, every_url) for a in record.args)
            elif isinstance(record.args, Mapping):
                record.args = {k: _redact_value(v, every_url) for k, v in record.args.items()}
        message = record.getMessage()
        clean = redact(message, every_url=every_url)
        if clean != message or not isinstance(record.msg, str):
            record.msg, record.args = clean, ()
    except Exception as exc:  # a message that cannot be formatted: keep only what is safe
        record.msg = redact(str(record.msg), every_url=every_url)
        record.msg += f" [arguments dropped: {type(exc).__name__}]"
        record.args = ()
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact(
            logging.Formatter().formatException(record.exc_info), every_url=every_url
        )
    elif record.exc_text:
        record.exc_text = redact(record.exc_text, every_url=every_url)
    if record.stack_info:
        record.stack_info = redact(record.stack_info, every_url=every_url)


def install_log_redaction() -> None:
    """Make every log record of this process go through `redact_record`; idempotent."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "prm_redaction", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    factory.prm_redaction = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
