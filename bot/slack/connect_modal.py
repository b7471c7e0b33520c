"""The "Connect on Slack" form: addresses to invite and a limited-access checkbox,
worded by `templates/_connect_form.j2`, checked with slack_sdk's View model like every
other modal (bot.slack.modals)."""

from __future__ import annotations

import json
from typing import Any

from bot.slack.ids import CONNECT_ACCESS, CONNECT_EMAILS, CONNECT_LIMITED, CONNECT_VIEW
from bot.slack.messages import environment
from bot.slack.modals import _check, _input, _plain

MAX_ADDRESSES = 20  # one form, one person typing: more is a mistake (or the CLI's job)


def words(locale: str) -> Any:
    return environment(locale).get_template("_connect_form.j2").module


def connect_modal(locale: str, partner_key: str, partner_name: str, offer: str) -> dict[str, Any]:
    """`offer`: "connect" (the partner has no channel yet) or "invite_more"."""
    w = words(locale)
    limited = {"text": _plain(w.limited_option), "value": CONNECT_LIMITED}
    return _check(
        {
            "type": "modal",
            "callback_id": CONNECT_VIEW,
            "private_metadata": json.dumps({"partner": partner_key}),
            "title": _plain(w.title[offer][:24]),
            "submit": _plain(w.submit[:24]),
            "close": _plain(w.cancel[:24]),
            "blocks": [
                {"type": "header", "text": _plain(partner_name)},
                {"type": "section", "text": {"type": "plain_text", "text": w.intro[offer]}},
                _input(
                    CONNECT_EMAILS,
                    w.emails_label,
                    {
                        "type": "plain_text_input",
                        "multiline": True,
                        "max_length": 3000,
                        "placeholder": _plain(w.emails_placeholder),
                    },
                    False,
                ),
                _input(
                    CONNECT_ACCESS,
                    w.access_label,
                    {"type": "checkboxes", "options": [limited]},
                    True,
                ),
            ],
        }
    )


def submitted(view: dict[str, Any]) -> tuple[str | None, str, bool]:
    """(partner key from the metadata, the typed addresses, limited access?) of a
    submission; a garbled or forged view gives (None, "", False)."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        meta = {}
    key = meta.get("partner") if isinstance(meta, dict) else None
    values = (view.get("state") or {}).get("values") or {}
    emails = ((values.get(CONNECT_EMAILS) or {}).get("value") or {}).get("value") or ""
    chosen = ((values.get(CONNECT_ACCESS) or {}).get("value") or {}).get("selected_options")
    limited = any(o.get("value") == CONNECT_LIMITED for o in chosen or [] if isinstance(o, dict))
    return (key if isinstance(key, str) and key else None), str(emails), limited


def error_text(locale: str, code: str, emails: list[str] | None = None) -> str:
    w = words(locale)
    if code == "invalid":
        return str(w.invalid(", ".join(emails or []))).strip()[:150]
    return str(w.errors[code])
