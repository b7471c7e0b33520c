"""Run at start-up by the `prm` processes the tests start with this folder on PYTHONPATH
(`tests/slack/test_serve.py`): the same injected retry waits as tests/conftest.py's
`_no_wall_clock_waits_in_slack_retries`, for a child process. slack_sdk still retries a
failed connection (or a 429, after its Retry-After) as often as in production; it just
does not add its 0.5–1.5 s backoff and random jitter first."""

from types import SimpleNamespace

from slack_sdk.http_retry import builtin_handlers, handler

handler.default_interval_calculator.calculate_sleep_duration = lambda current_attempt: 0.0
builtin_handlers.random = SimpleNamespace(random=lambda: 0.0)
