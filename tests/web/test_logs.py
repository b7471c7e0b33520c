"""Log redaction (bot/logs.py): no capability URL, token or personal link in any log line.

The end-to-end check (a real `prm serve` at DEBUG) is in tests/slack/test_serve.py; these
pin each kind of secret, what must stay readable, and the record factory's mechanics.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.core.logs import MASK, add_secrets, install_log_redaction, redact
from bot.domain.links import make_token

TOKEN = make_token("log-test-secret", "acme-alice", "onboarding-guide")
HOOK = "https://hooks.slack.com/commands/T0001/1234567890/AbCdEfGhIjKlMnOp"

# (text, what must not survive)
SECRETS = [
    ("Authorization: Bearer xoxb-1234-5678-AbCd", "1234-5678-AbCd"),
    ("token=xoxp-9-8-7&channel=C1", "xoxp-9-8-7"),
    ("app token xapp-1-A0001-42-deadbeef refused", "A0001-42-deadbeef"),
    ("refresh xoxe-1-abcdef", "1-abcdef"),
    ("{'Authorization': 'Basic Y2xpZW50OnNlY3JldA=='}", "Y2xpZW50OnNlY3JldA=="),
    (f"url: {HOOK}, body: {{}}", "AbCdEfGhIjKlMnOp"),
    ("https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F2%2Fsecretpart", "secretpart"),
    ('"https:\\/\\/hooks.slack.com\\/actions\\/T1\\/2\\/secretpart"', "secretpart"),
    ("https://hooks.slack.com/services/T1/B2/secretpart", "secretpart"),
    ("response_url=http%3A%2F%2F127.0.0.1%3A9%2Fresponse%2F7&x=1", "response%2F7"),
    ('{"response_url": "http://127.0.0.1:9/response/7"}', "/response/7"),
    ("{'response_url': 'http://127.0.0.1:9/response/7'}", "/response/7"),
    ('{\\"response_url\\":\\"http:\\/\\/127.0.0.1:9\\/response\\/7\\"}', "response\\/7"),
    ('"response_urls": [{"response_url": "https://x.example/r/1"}]', "/r/1"),
    (f'127.0.0.1:5 - "GET /c/{TOKEN} HTTP/1.1" 302', TOKEN),
    (f"<https://prm.example.com/c/{TOKEN}|Guide>", TOKEN),
    (f"https%3A%2F%2Fprm.example.com%2Fc%2F{TOKEN}", TOKEN),
    (f"https:\\/\\/prm.example.com\\/c\\/{TOKEN}", TOKEN),
    (f"a token {TOKEN} in prose", TOKEN),
    ("GET /c/v1.tampered.token HTTP/1.1", "tampered"),
    ("GET /slack/oauth_redirect?code=1234.5678.abcd&state=s3cr3t HTTP/1.1", "1234.5678.abcd"),
    ("GET /slack/oauth_redirect?code=1234.5678.abcd&state=s3cr3t HTTP/1.1", "s3cr3t"),
    ("Set-Cookie: slack-app-oauth-state=f00ba4; Secure", "f00ba4"),
    ("body_params: {'code': '1234.abcd', 'client_id': '1.2'}", "1234.abcd"),
    ("body_params: {'client_secret': 'shh-very-secret'}", "shh-very-secret"),
    ('{"token": "legacy-verification-token", "type": "x"}', "legacy-verification-token"),
    ("https://slack.com/oauth/v2/authorize?state=abc123&client_id=1.2", "abc123"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_secrets_are_redacted(text, secret):
    clean = redact(text)
    assert secret not in clean
    assert MASK in clean
    assert redact(clean) == clean  # redacting twice changes nothing


@pytest.mark.parametrize(
    "text",
    [
        "Sending a request - url: https://slack.com/api/chat.postMessage",
        '127.0.0.1:5 - "GET /healthz HTTP/1.1" 200',
        "status code 200; an xapp- token is needed",
        '"state": {"values": {"block": {"action": {"value": "42"}}}}',
        "users.info for U123 failed: user_not_found",
        "https://x.example/assets/guide.pdf",
    ],
)
def test_ordinary_text_stays_as_it_is(text):
    assert redact(text) == text


def test_registered_literal_secrets_are_redacted():
    add_secrets(["a-signing-secret-value", "", None, "short"])
    assert redact("sig a-signing-secret-value!") == f"sig {MASK}!"
    assert redact("short stays: too short to be sure") == "short stays: too short to be sure"


@pytest.fixture
def redacting() -> Iterator[list[str]]:
    """The record factory installed (as `prm` does) and a logger whose lines we keep; the
    previous factory is restored afterwards."""
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    install_log_redaction()
    install_log_redaction()  # idempotent: one wrapper, not two
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    # Like uvicorn's loggers: their own handler, not propagating to the root.
    loggers = [logging.getLogger(n) for n in ("prmtest", "slack_sdk.webhook.client")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    yield lines
    for logger in loggers:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    logging.setLogRecordFactory(previous)


def test_the_factory_is_installed_once(redacting):
    factory = logging.getLogRecordFactory()
    assert getattr(factory, "prm_redaction", False)
    assert factory.__closure__ is not None  # wraps the plain LogRecord, not itself
    wrapped = [c.cell_contents for c in factory.__closure__]
    assert logging.LogRecord in wrapped


def test_records_keep_their_shape_and_lose_their_secrets(redacting):
    log = logging.getLogger("prmtest")
    # uvicorn's access formatter unpacks `args` as a 5-tuple: it must stay one.
    record = logging.getLogRecordFactory()(
        "prmtest", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", f"/c/{TOKEN}", "1.1", 302), None,
    )  # fmt: skip
    assert isinstance(record.args, tuple) and len(record.args) == 5
    assert record.args[2] == f"/c/{MASK}"
    log.debug("request body: %s", {"response_url": HOOK, "text": "kpi"})  # an object argument
    log.info("plain %s and %d", "words", 3)
    assert redacting[-2] == f"prmtest request body: {{'response_url': '{MASK}', 'text': 'kpi'}}"
    assert redacting[-1] == "prmtest plain words and 3"


def test_tracebacks_are_redacted(redacting):
    log = logging.getLogger("prmtest")
    try:
        raise RuntimeError(f"failed to post to {HOOK} with xoxb-1-2-3")
    except RuntimeError:
        log.exception("answer failed")
    text = redacting[-1]
    assert "Traceback" in text and "RuntimeError" in text
    assert "AbCdEfGhIjKlMnOp" not in text and "xoxb-1-2-3" not in text


def test_every_url_of_the_webhook_client_is_redacted(redacting):
    # slack_sdk's webhook client only ever posts to capability URLs (response_url).
    logging.getLogger("slack_sdk.webhook.client").debug(
        "Sending a request - url: http://127.0.0.1:9/response/7, body: {}"
    )
    assert redacting[-1].endswith(f"url: http://127.0.0.1:9/{MASK}, body: {{}}")


def test_a_message_that_cannot_be_formatted_keeps_nothing_unsafe(redacting):
    logging.getLogger("prmtest").info(f"bad format {HOOK} %d", "not a number")
    assert "AbCdEfGhIjKlMnOp" not in redacting[-1]
    assert "arguments dropped" in redacting[-1]


def test_every_prm_command_installs_the_redaction(cli):
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    try:
        result = cli("jobs", "list")
        assert result.exit_code == 0, result.output
        assert getattr(logging.getLogRecordFactory(), "prm_redaction", False)
    finally:
        logging.setLogRecordFactory(previous)
