"""What the app asks of Slack: its command, events and bot scopes.

`manifest.yml`, the OAuth install and the tests all read these, so the scopes the app
requests are exactly the scopes the manifest declares (and the README justifies).
"""

from __future__ import annotations

COMMAND = "/prm"

# Each scope with the reason we need it; the README repeats these reasons.
BOT_SCOPES: dict[str, str] = {
    "commands": "receive the /prm slash command",
    "chat:write": "post answers when a response_url is unavailable, and (later) DMs",
    "users:read": "read a user's Slack locale (users.info include_locale) for en/ja",
}

BOT_EVENTS: tuple[str, ...] = ("app_home_opened",)

# Action and callback ids: handlers and templates share these names (a typo would
# silently drop a click).
# App Home period buttons re-publish for that period; ids must differ within a block.
HOME_PERIOD = "home_period_"  # + the period, e.g. home_period_30d
HOME_PERIODS: tuple[str, ...] = ("30d", "12w", "3m")
