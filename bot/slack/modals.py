"""Modals (registration, rejection reason), worded by `templates/<locale>/_forms.j2`.

Built as dicts and checked with slack_sdk's View model before anything is sent.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.views import View

from bot.domain.registrations import CURRENCIES
from bot.slack.ids import REGISTER_VIEW, REJECT_REASON, REJECT_VIEW
from bot.slack.messages import environment

OPTIONAL = {"contact", "notes"}


def words(locale: str) -> Any:
    return environment(locale).get_template("_forms.j2").module


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:150]}


def _input(block_id: str, label: str, element: dict, optional: bool) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": {**element, "action_id": "value"},
        "optional": optional,
    }


def register_modal(kind: str, locale: str) -> dict[str, Any]:
    w = words(locale)
    ph = w.placeholders

    def text(name: str, multiline: bool = False) -> dict[str, Any]:
        element: dict[str, Any] = {"type": "plain_text_input", "placeholder": _plain(ph[name])}
        if multiline:
            element["multiline"] = True
            element["max_length"] = 3000
        return _input(name, w.labels[name], element, name in OPTIONAL)

    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": w.intro[kind]}},
        text("company"),
        text("email_domain"),
        text("contact"),
    ]
    if kind == "deal":
        blocks += [
            text("amount"),
            _input(
                "currency",
                w.labels["currency"],
                {
                    "type": "static_select",
                    "placeholder": _plain(ph["currency"]),
                    "options": [{"text": _plain(c), "value": c} for c in CURRENCIES],
                },
                False,
            ),
        ]
    blocks += [
        _input(
            "expected_close",
            w.labels["expected_close"],
            {"type": "datepicker", "placeholder": _plain(ph["expected_close"])},
            kind != "deal",
        ),
        text("notes", multiline=True),
    ]
    return _check(
        {
            "type": "modal",
            "callback_id": REGISTER_VIEW,
            "private_metadata": json.dumps({"kind": kind}),
            "title": _plain(w.title[kind][:24]),
            "submit": _plain(w.submit[kind][:24]),
            "close": _plain(w.cancel[:24]),
            "blocks": blocks,
        }
    )


def reject_modal(locale: str, registration_id: int) -> dict[str, Any]:
    w = words(locale)
    return _check(
        {
            "type": "modal",
            "callback_id": REJECT_VIEW,
            "private_metadata": json.dumps({"id": registration_id}),
            "title": _plain(w.title["reject"][:24]),
            "submit": _plain(w.submit["reject"][:24]),
            "close": _plain(w.cancel[:24]),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": w.intro["reject"]}},
                _input(
                    REJECT_REASON,
                    w.labels["reason"],
                    {
                        "type": "plain_text_input",
                        "multiline": True,
                        "max_length": 1000,
                        "placeholder": _plain(w.placeholders["reason"]),
                    },
                    False,
                ),
            ],
        }
    )


def form_values(view: dict[str, Any]) -> dict[str, str | None]:
    """The submitted values by block id, whatever the element type."""
    values: dict[str, str | None] = {}
    for block_id, actions in (view.get("state", {}).get("values") or {}).items():
        element = actions.get("value") or {}
        kind = element.get("type")
        if kind == "static_select":
            values[block_id] = (element.get("selected_option") or {}).get("value")
        elif kind == "datepicker":
            values[block_id] = element.get("selected_date")
        else:
            values[block_id] = element.get("value")
    return values


def error_texts(locale: str, errors: dict[str, str]) -> dict[str, str]:
    return {field: words(locale).errors.get(code, code) for field, code in errors.items()}


def _check(view: dict[str, Any]) -> dict[str, Any]:
    View(**view).validate_json()
    return view
