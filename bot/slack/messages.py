"""Rendering the Slack messages, in the language a person reads.

Each message kind is one template, `templates/<kind>.j2`, written in English with jinja2's
i18n extension: `{{ _("…%(name)s…", name=value) }}`, `ngettext(…)` for plurals,
`pgettext(…)` where one English string needs two translations. `_terms.j2` holds the
vocabulary (journey steps, hints; the KPI names come from `bot.kpi.registry`). The other
languages are gettext catalogs (`bot.slack.catalogs`, docs/translations.md), installed
into one Environment per locale; English renders the msgids themselves.

Every string handed to a
template is made inert first (`bot.slack.blocks.inert`): escaped for Slack's mrkdwn and
unable to form the line markup, so a partner called "<!channel>" or a note with a line
`[[reg_approve|1]] Approve` stays text. Escaping the data, not the output, keeps macro
output from being escaped twice and leaves the template's own markup alone. The translated
strings are trusted template text: autoescape is off, so `_()` neither escapes them nor the
(already inert) values it substitutes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.core import numbers
from bot.core.resources import TEMPLATES
from bot.kpi.lookup import kpi_hint
from bot.kpi.registry import KPI_LABELS
from bot.slack import blocks, ids
from bot.slack.catalogs import translations
from bot.slack.locale import LOCALES, normalize_locale, pick_locale  # noqa: F401  (the rule)

# Fields holding what a person wrote at length; and fields holding a URL (kept whole,
# percent-encoded where Slack's link syntax would misread it). Every other string is a
# name, a title, a key or a word, and shorter (bot.slack.blocks.DATA_MAX).
LONG_TEXT_FIELDS = frozenset({"notes", "reject_reason"})
URL_FIELDS = frozenset({"url", "portal_url"})
_URL = -1  # the "limit" that means: this is a URL


def escape_data(value: Any, limit: int = blocks.DATA_MAX) -> Any:
    if isinstance(value, str):
        return blocks.inert_url(value) if limit == _URL else blocks.inert(value, limit)
    if isinstance(value, Mapping):
        return {k: escape_data(v, _limit(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [escape_data(v, limit) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: escape_data(getattr(value, f.name), _limit(f.name)) for f in fields(value)}
    return value


def _limit(field: object) -> int:
    if field in URL_FIELDS:
        return _URL
    return blocks.LONG_DATA_MAX if field in LONG_TEXT_FIELDS else blocks.DATA_MAX


def _day(value: datetime | None, tz: ZoneInfo) -> str:
    return numbers.NULL if value is None else value.astimezone(tz).strftime("%Y-%m-%d")


def _minute(value: datetime | None, tz: ZoneInfo) -> str:
    return numbers.NULL if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# An honorific a name may already carry ("Bさん (rep B)", "田中様"): no second one is added.
HONORIFIC = re.compile(r"(?:さん|様|さま|殿|くん|ちゃん)(?=$|[\s(（,、])")


def honorific(name: Any, locale: str = "en") -> str:
    """A person's name as the message addresses them: Japanese adds さん (`田中 太郎さん`)
    unless the name already carries an honorific; other languages leave it alone."""
    text = "" if name is None else str(name)
    if not locale.startswith("ja") or not text.strip() or HONORIFIC.search(text):
        return text
    return f"{text}さん"


@cache
def environment(locale: str) -> Environment:
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}")
    env = Environment(
        loader=FileSystemLoader([str(TEMPLATES)]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        extensions=["jinja2.ext.i18n"],
    )
    # Added by the i18n extension (so unknown to the type checker): `_`, `ngettext`, `pgettext`.
    i18n: Any = env
    i18n.install_gettext_translations(translations(locale), newstyle=True)
    env.globals["kpi_labels"] = KPI_LABELS
    env.globals["ids"] = ids  # action ids by name (bot.slack.ids): templates never spell one
    env.filters.update(
        pct=partial(numbers.pct, locale=locale),  # ja: 44.4% (no space), en: 44.4 %
        count=numbers.count,
        number=numbers.number,
        days=partial(numbers.days, locale=locale),  # ja: 293日, en: 293 d
        honorific=partial(honorific, locale=locale),
        kpi_hint=kpi_hint,
        change=numbers.change,
        day=_day,
        minute=_minute,
    )
    return env


def render(template: str, locale: str, /, **data: Any) -> str:
    safe = {key: escape_data(value, _limit(key)) for key, value in data.items()}
    return environment(locale).get_template(f"{template}.j2").render(**safe)


def render_message(template: str, locale: str, /, **data: Any) -> blocks.Rendered:
    more = render("_truncated", locale).strip()
    return blocks.message(render(template, locale, **data), more)


def render_home(locale: str, **data: Any) -> dict[str, Any]:
    more = render("_truncated", locale).strip()
    return blocks.home_view(render("home", locale, **data), more)
