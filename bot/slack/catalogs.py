"""The Slack messages' translation catalogs: gettext `.po` files that ship in the package.

The templates (`templates/*.j2`) are written once, in English; every string a person reads
is marked with `_()`, `ngettext()` or `pgettext()` (jinja2's i18n extension), and that
English is the msgid. Each other language is one catalog,
`bot/slack/locales/<lang>/LC_MESSAGES/messages.po`; English needs none (the msgids are the
English). The KPI labels are msgids too, though they live in `bot/kpi/registry.py`.

Maintainers (docs/translations.md):

    python -m bot.slack.catalogs extract   # write bot/slack/locales/messages.pot
    python -m bot.slack.catalogs update    # merge it into every messages.po (new, fuzzy, obsolete)
    python -m bot.slack.catalogs check     # exit 1 if a catalog is incomplete
    python -m bot.slack.catalogs init fr   # start a catalog for a new language

The catalogs are read at run time with Babel and compiled in memory: no `.mo` to build.
"""

from __future__ import annotations

import argparse
import gettext
import re
import sys
from collections.abc import Iterator
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

from bot.core.resources import TEMPLATES

SOURCE_LOCALE = "en"  # the language of the msgids: it has no catalog
DOMAIN = "messages"
LOCALES_DIR = Path(__file__).resolve().with_name("locales")
TEMPLATE_FILE = LOCALES_DIR / f"{DOMAIN}.pot"

# How Babel reads the templates: jinja2's own extractor, with the options the bot renders with.
METHOD_MAP = [("**.j2", "jinja2.ext:babel_extract")]
OPTIONS_MAP = {
    "**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
}

_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")


def catalog_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalog_locales() -> tuple[str, ...]:
    """The languages that have a catalog, sorted (the source language never has one)."""
    if not LOCALES_DIR.is_dir():
        return ()
    return tuple(
        sorted(
            p.name
            for p in LOCALES_DIR.iterdir()
            if p.name != SOURCE_LOCALE and catalog_path(p.name).is_file()
        )
    )


def available_locales() -> tuple[str, ...]:
    """English (the templates' own language) and every language with a catalog."""
    return (SOURCE_LOCALE, *catalog_locales())


def read_catalog(locale: str) -> Catalog:
    with catalog_path(locale).open("rb") as f:
        return read_po(f, locale=locale, domain=DOMAIN)


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The gettext translations for `locale`; English (the msgids) translates nothing.

    The `.po` is compiled in memory; fuzzy entries are left out, so they render as English
    (and `check` fails on them).
    """
    if locale == SOURCE_LOCALE:
        return gettext.NullTranslations()
    buffer = BytesIO()
    write_mo(buffer, read_catalog(locale), use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def _template_messages() -> Iterator[tuple[str, int, str | tuple[str, ...], list[str], str | None]]:
    yield from extract_from_dir(
        str(TEMPLATES),
        method_map=METHOD_MAP,
        options_map=OPTIONS_MAP,
        keywords=DEFAULT_KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    )


def extract() -> Catalog:
    """Every msgid: the templates' (with Babel's extractor) and the KPI labels."""
    from bot.kpi.registry import KPI_LABELS  # the registry pulls in SQLAlchemy: only here

    catalog = Catalog(domain=DOMAIN, project="prm", fuzzy=False)
    for filename, lineno, message, comments, context in _template_messages():
        location = (f"templates/{filename}", lineno)
        catalog.add(message, None, [location], auto_comments=comments, context=context)
    for name, label in KPI_LABELS.items():
        catalog.add(label, None, [("bot/kpi/registry.py", 0)], auto_comments=[f"KPI {name}"])
    return catalog


def placeholders(text: str) -> list[str]:
    """The `%(name)s` placeholders of a message, sorted (`%%` counts as one)."""
    return sorted(m.group(1) or "%%" for m in _PLACEHOLDER.finditer(text))


def _ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, list | tuple) else (message.id,)


def _strings(message: Message) -> tuple[str, ...]:
    s = message.string
    return tuple(s) if isinstance(s, list | tuple) else (s or "",)


def problems(locale: str, source: Catalog | None = None) -> list[str]:
    """What is wrong with `locale`'s catalog against the templates; empty when complete."""
    source = source or extract()
    catalog = read_catalog(locale)
    out: list[str] = []
    for message in source:
        if not message.id:
            continue
        key = _ids(message)[0]
        found = catalog.get(key, context=message.context)
        context = f" (context {message.context!r})" if message.context else ""
        label = f"{locale}: {key!r}{context}"
        if found is None:
            out.append(f"{label} is missing")
            continue
        if found.fuzzy:
            out.append(f"{label} is fuzzy")
        strings = _strings(found)
        if not all(strings):
            out.append(f"{label} is untranslated")
            continue
        if len(_ids(message)) != len(_ids(found)):
            out.append(f"{label}: plural forms differ from the templates")
        wanted = placeholders(_ids(message)[-1])
        for string in strings:
            if placeholders(string) != wanted:
                out.append(f"{label}: placeholders {placeholders(string)} instead of {wanted}")
    known = {(_ids(m)[0], m.context) for m in source if m.id}
    for message in catalog:
        if message.id and (_ids(message)[0], message.context) not in known:
            out.append(f"{locale}: {_ids(message)[0]!r} is obsolete (no template uses it)")
    for obsolete in catalog.obsolete:
        out.append(f"{locale}: {obsolete!r} is kept as obsolete; delete it")
    return out


def _write(catalog: Catalog, path: Path, **options: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, sort_output=False, **options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.slack.catalogs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("extract", help=f"write {TEMPLATE_FILE.name} from the templates")
    sub.add_parser("update", help="merge the templates' msgids into every catalog")
    sub.add_parser("check", help="exit 1 when a catalog is incomplete")
    init = sub.add_parser("init", help="start the catalog of a new language")
    init.add_argument("locale", help="a language code such as fr or pt")
    args = parser.parse_args(argv)

    source = extract()
    if args.command == "extract":
        _write(source, TEMPLATE_FILE, omit_header=False)
        print(f"{TEMPLATE_FILE}: {len(source)} messages")
        return 0
    if args.command == "init":
        path = catalog_path(args.locale)
        if path.exists():
            print(f"{path} exists; use update", file=sys.stderr)
            return 1
        catalog = Catalog(locale=args.locale, domain=DOMAIN, project="prm", fuzzy=False)
        catalog.update(source, no_fuzzy_matching=True)
        _write(catalog, path)
        print(f"{path}: {len(catalog)} messages to translate")
        return 0
    if args.command == "update":
        for locale in catalog_locales():
            catalog = read_catalog(locale)
            catalog.update(source)
            _write(catalog, catalog_path(locale))
            obsolete = len(catalog.obsolete)
            print(f"{catalog_path(locale)}: {len(catalog)} messages, {obsolete} obsolete")
        return 0
    found = [p for locale in catalog_locales() for p in problems(locale, source)]
    print("\n".join(found) or f"{len(source)} messages, complete in {', '.join(catalog_locales())}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
