"""Modal (view submission) listeners.

The Slack app of this release opens no modal; lead and deal registration (the next
issue) registers its submission listeners here, beside the other kinds.
"""

from __future__ import annotations

from slack_bolt import App

from bot.handlers.context import AppContext


def register(app: App, ctx: AppContext) -> None:
    """No modal yet; kept so every listener kind registers in the same way."""
