"""Partner lookup (issue 11 item 6): a partner is found by its name without the legal form,
in any width and case, and only inside the asker's book; a KPI is suggested only for a word
close to a KPI name (item 5)."""

from __future__ import annotations

import pytest

from bot.domain.access import (
    AccessDenied,
    PartnerNotFound,
    Role,
    Viewer,
    resolve_partner,
    resolve_viewer,
)
from bot.kpi.lookup import find_partner, kpi_hint, normalize_name, suggest_partners
from tests.builders import Store

MANAGER = "ULKMGR1"
OTHER_MANAGER = "ULKMGR2"
REP = "ULKREP1"


def seed(engine) -> None:
    s = Store(engine)
    s.partner("p-aoba2", name="株式会社青葉ネットワーク2", manager=MANAGER)
    s.partner("p-aoba7", name="株式会社青葉ネットワーク7", manager=MANAGER)
    s.partner("p-acme", name="Acme Corp Ltd", manager=MANAGER)
    s.partner("p-orbit", name="Orbit Technologies 15 Pty Ltd", manager=MANAGER)
    s.partner("p-fuji", name="㈱富士クラウド", manager=MANAGER)
    s.partner("p-atlas", name="Atlas Solutions 0", manager=MANAGER)
    s.partner("p-hidden", name="株式会社ひみつ商事", manager=OTHER_MANAGER)
    s.user("p-acme-u1", "p-acme", name="Rep One", slack_user_id=REP)


@pytest.fixture
def conn(engine, seeded):
    seeded(seed)
    with engine.connect() as c:
        yield c


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("株式会社青葉ネットワーク2", "青葉ネットワーク2"),
        ("青葉ネットワーク2株式会社", "青葉ネットワーク2"),
        ("㈱富士クラウド", "富士クラウド"),
        ("(株)富士クラウド", "富士クラウド"),
        ("有限会社みなと", "みなと"),
        ("合同会社つばさ", "つばさ"),
        ("Acme Corp Ltd", "acme"),
        ("ACME INC.", "acme"),
        ("Orbit Technologies 15 Pty Ltd", "orbit technologies 15"),
        ("Nakamura Systems, Inc.", "nakamura systems"),
        ("Harbor Digital GmbH", "harbor digital"),
        ("Foo Co., Ltd.", "foo"),
        ("ＡＣＭＥ　ＫＫ", "acme"),
        ("Granite LLC", "granite"),
        ("Inc.", "inc."),  # nothing but a legal form: kept, never empty
    ],
)
def test_normalize_name_drops_legal_form_width_and_case(name, normalised):
    assert normalize_name(name) == normalised


@pytest.mark.parametrize(
    ("word", "kpi"),
    [
        ("dels", "deals"),
        ("deal", "deals"),
        ("fnnel", "funnel"),
        ("rep", "reps"),
        ("pipe", "pipeline"),
        ("Retention", "retention"),
        ("ｄｅａｌｓ", "deals"),
    ],
)
def test_kpi_hint_for_a_word_close_to_a_kpi(word, kpi):
    assert kpi_hint(word) == kpi


@pytest.mark.parametrize("word", ["Atlas", "atlas solutions", "Acme", "青葉", "re", ""])
def test_no_kpi_hint_for_a_partner_name(word):
    assert kpi_hint(word) is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("青葉ネットワーク2", "p-aoba2"),
        ("青葉ネットワーク２", "p-aoba2"),  # full-width digit
        ("Acme", "p-acme"),
        ("acme corp", "p-acme"),
        ("ACME CORP LTD", "p-acme"),
        ("富士クラウド", "p-fuji"),
        ("株式会社富士クラウド", "p-fuji"),
        ("orbit technologies 15", "p-orbit"),
    ],
)
def test_a_manager_finds_a_partner_without_its_legal_form(conn, text, key):
    viewer = resolve_viewer(conn, MANAGER, frozenset())
    assert viewer.role is Role.MANAGER
    assert resolve_partner(conn, viewer, text).key == key


def test_the_book_still_limits_the_lookup(conn):
    manager = resolve_viewer(conn, MANAGER, frozenset())
    with pytest.raises(PartnerNotFound) as caught:
        resolve_partner(conn, manager, "ひみつ商事")
    assert all(s.key != "p-hidden" for s in caught.value.suggestions)
    admin = Viewer("UADMIN", Role.ADMIN)
    assert resolve_partner(conn, admin, "ひみつ商事").key == "p-hidden"
    assert find_partner(conn, "ひみつ商事") == ("p-hidden", "株式会社ひみつ商事")


def test_a_rep_finds_only_their_own_partner(conn):
    rep = resolve_viewer(conn, REP, frozenset())
    assert rep.role is Role.REP
    assert resolve_partner(conn, rep, "acme").key == "p-acme"
    with pytest.raises(AccessDenied):
        resolve_partner(conn, rep, "青葉ネットワーク2")


def test_ambiguous_short_names_are_suggestions_not_a_match(conn):
    assert find_partner(conn, "青葉ネットワーク") is None
    close = [key for key, _ in suggest_partners(conn, "株式会社青葉ネットワク2")]
    assert close[0] == "p-aoba2" and "p-aoba7" in close
