"""Which language a person reads: the one rule, for every listener, job and CLI command.

Their stored locale (`partner_user.locale`), else their Slack locale (users.info), else
the configured default. Only the languages we have messages in count; `ja-JP` is `ja`.

Those are English (the templates' own language) and every language with a catalog in
`bot/slack/locales/` (`bot.slack.catalogs`): adding a language is adding its `.po`
(docs/translations.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.slack.catalogs import available_locales

if TYPE_CHECKING:
    from bot.domain.access import Viewer

LOCALES: tuple[str, ...] = available_locales()  # ("en", "ja")


def normalize_locale(value: str | None) -> str | None:
    """`ja-JP` → `ja`, `en-GB` → `en`; a language we do not speak → None."""
    if not value:
        return None
    lang = value.strip().replace("_", "-").split("-")[0].lower()
    return lang if lang in LOCALES else None


def pick_locale(
    stored: str | None, slack: str | Callable[[], str | None] | None, default: str
) -> str:
    """The user's stored locale, else their Slack locale, else the configured default.

    `slack` may be a function (a users.info call): it is asked only when nothing usable is
    stored, so a person whose language we know costs no Slack request.
    """
    if chosen := normalize_locale(stored):
        return chosen
    return normalize_locale(slack() if callable(slack) else slack) or default


def stored_locale(viewer: Viewer) -> str | None:
    """The locale stored for the asker: a rep's `partner_user.locale`; nobody else has one."""
    return viewer.rep.locale if viewer.rep else None
