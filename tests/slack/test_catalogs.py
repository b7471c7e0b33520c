"""The translation catalogs against the templates: nothing untranslated, nothing stale.

The msgids come from the templates through Babel's extractor (jinja2's `babel_extract`),
the way `python -m bot.slack.catalogs extract` finds them, plus the KPI labels of the
registry. Every catalog must translate each of them (non-empty, not fuzzy), with the
same `%(name)s` placeholders, and hold nothing the templates no longer use.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.core.resources import TEMPLATES
from bot.kpi.registry import KPI_LABELS
from bot.slack import catalogs
from bot.slack.locale import LOCALES
from bot.slack.messages import environment, render

CATALOG_LOCALES = [loc for loc in LOCALES if loc != catalogs.SOURCE_LOCALE]


def _msgids() -> dict[tuple[str | None, str], tuple[str, ...]]:
    """(context, msgid) → the English forms (singular, plural), from the templates."""
    found: dict[tuple[str | None, str], tuple[str, ...]] = {}
    for _file, _line, message, _comments, context in extract_from_dir(
        str(TEMPLATES),
        method_map=[("**.j2", "jinja2.ext:babel_extract")],
        options_map={"**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true"}},
        keywords=DEFAULT_KEYWORDS,
    ):
        forms = (message,) if isinstance(message, str) else tuple(m for m in message if m)
        found[(context, forms[0])] = forms
    for label in KPI_LABELS.values():
        found[(None, label)] = (label,)
    return found


def _first(msgid: str | tuple[str, ...]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _catalog(locale: str):
    with catalogs.catalog_path(locale).open("rb") as f:
        return read_po(f, locale=locale)


def test_the_languages_are_english_and_the_catalogs():
    assert LOCALES == ("en", "ja")
    assert catalogs.available_locales() == LOCALES
    assert not (TEMPLATES / "en").exists() and not (TEMPLATES / "ja").exists()  # one set


def test_the_templates_have_messages_and_no_old_plural_filter():
    ids = _msgids()
    assert len(ids) > 200
    assert (None, "Journey step completion") in ids  # a KPI label, from the registry
    assert ("form title", "Register a lead") in ids and (None, "Register a lead") in ids
    for path in TEMPLATES.glob("*.j2"):
        assert '| s("' not in path.read_text(encoding="utf-8"), path.name


@pytest.mark.parametrize("locale", CATALOG_LOCALES)
def test_every_message_is_translated(locale):
    catalog = _catalog(locale)
    missing, untranslated, fuzzy = [], [], []
    for (context, msgid), forms in _msgids().items():
        message = catalog.get(msgid, context=context)
        if message is None:
            missing.append(msgid)
            continue
        if message.fuzzy:
            fuzzy.append(msgid)
        strings = message.string if isinstance(message.string, tuple | list) else [message.string]
        if not all(strings):
            untranslated.append(msgid)
        assert message.pluralizable == (len(forms) > 1), msgid
    assert not missing, f"{locale}: not in the catalog: {missing}"
    assert not untranslated, f"{locale}: empty msgstr: {untranslated}"
    assert not fuzzy, f"{locale}: fuzzy: {fuzzy}"


@pytest.mark.parametrize("locale", CATALOG_LOCALES)
def test_no_catalog_keeps_obsolete_messages(locale):
    catalog = _catalog(locale)
    wanted = set(_msgids())
    stale = [m.id for m in catalog if m.id and (m.context, _first(m.id)) not in wanted]
    assert not stale, f"{locale}: no template uses {stale}"
    assert not catalog.obsolete, f"{locale}: delete the #~ entries {list(catalog.obsolete)}"


@pytest.mark.parametrize("locale", CATALOG_LOCALES)
def test_placeholders_match(locale):
    for message in _catalog(locale):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        wanted = catalogs.placeholders(ids[-1])
        assert catalogs.placeholders(ids[0]) == wanted, ids
        for string in strings:
            assert catalogs.placeholders(string) == wanted, (ids[0], string)


def test_the_check_command_passes_and_catches_a_gap(tmp_path: Path, monkeypatch, capsys):
    assert catalogs.main(["check"]) == 0
    copy = tmp_path / "locales"
    shutil.copytree(catalogs.LOCALES_DIR, copy)
    po = copy / "ja" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    text = text.replace('msgstr "ログイン"', 'msgstr ""', 1)
    text += '\nmsgid "Nobody uses this"\nmsgstr "誰も使わない"\n'
    po.write_text(text, encoding="utf-8")
    monkeypatch.setattr(catalogs, "LOCALES_DIR", copy)
    problems = catalogs.problems("ja")
    assert any("'Logged in' is untranslated" in p for p in problems), problems
    assert any("'Nobody uses this' is obsolete" in p for p in problems), problems


def test_english_renders_the_msgids_and_japanese_the_catalog():
    assert render("oops", "en", ref="x").startswith("Sorry, something went wrong")
    assert render("oops", "ja", ref="x").startswith("申し訳ありません。")
    ja: Any = environment("ja").get_template("_forms.j2").module
    en: Any = environment("en").get_template("_forms.j2").module
    assert ja.title["lead"] == "リード登録"  # pgettext("form title", …)
    assert en.title["lead"] == "Register a lead"


def test_plurals_follow_the_count():
    one = {"registered": 1, "activated": 1, "activation_rate": 1.0, "newly_activated": 0}
    many = {**one, "registered": 1200, "activated": 2}
    template = '{% import "_sections.j2" as s %}{{ s.deals(d, false) }}'
    for locale, data, wanted in (
        ("en", one, "1 deal registered · 1 partner activated"),
        ("en", many, "1,200 deals registered · 2 partners activated"),
        ("ja", many, "案件登録 1,200件 · アクティベーション済み 2社"),
    ):
        out = environment(locale).from_string(template).render(d={**data, "by_partner": []})
        assert wanted in out, out


def test_translated_strings_get_the_escaped_data_once():
    # escape_data makes the value inert; `_()` substitutes it as it is: no second escape,
    # and a `%` in the data is not read as a placeholder.
    for locale in LOCALES:
        out = render("oops", locale, ref="<b>&100%(x)s")
        assert "&lt;b&gt;&amp;100%(x)s" in out, out
        assert "&amp;amp;" not in out
