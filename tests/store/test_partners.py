"""bot.store.partners against a real database (SQLite and, with PRM_TEST_DATABASE_URL,
PostgreSQL): names by key, who a Slack user is, and which partners a book holds."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.exc import NoResultFound

from bot.store import partners
from bot.store.partners import Book
from tests.builders import Store


@pytest.fixture
def book(engine):
    (
        Store(engine)
        .partner("acme", "2025-01-01", name="Acme Corp", manager="UM1", cs="UCS1", tier="gold")
        .partner("globex", "2025-02-01T09:00:00Z", name="Globex", manager="UM1")
        .partner("initech", None, name="Initech KK", cs="UCS1")
        .partner("umbrella", "2025-03-01", name="Umbrella", manager="UM2", cs="UM1")
        .user("acme-a", "acme", "2025-01-05", slack_user_id="UREP", locale="ja", name="Aki")
        .user("acme-b", "acme", "2025-01-06T10:00:00Z", slack_user_id="UREP", name="Second")
        .user("globex-a", "globex", None, name=None)
    )
    return engine


def test_names_by_key_only_for_keys_that_exist(book):
    with book.connect() as conn:
        assert partners.partner_names(conn, {"acme", "initech", "nobody"}) == {
            "acme": "Acme Corp",
            "initech": "Initech KK",
        }
        assert partners.partner_names(conn, []) == {}
        assert partners.rep_names(conn, ["acme-a", "nobody"]) == {"acme-a": "Aki"}
        assert partners.rep_names(conn, set()) == {}


def test_rep_names_keep_a_missing_name_as_none(engine):
    Store(engine).partner("acme").user("acme-a", "acme")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE partner_user SET name = NULL")
    with engine.connect() as conn:
        assert partners.rep_names(conn, ["acme-a"]) == {"acme-a": None}


def test_partner_count_counts_unsigned_partners_too(engine):
    with engine.connect() as conn:
        assert partners.partner_count(conn) == 0
    Store(engine).partner("acme").partner("initech", None)
    with engine.connect() as conn:
        assert partners.partner_count(conn) == 2


def test_roles_count_managed_and_looked_after_partners(book):
    with book.connect() as conn:
        assert partners.roles(conn, "UM1") == partners.Roles(managed=2, looked_after=1)
        assert partners.roles(conn, "UCS1") == partners.Roles(managed=0, looked_after=2)
        assert partners.roles(conn, "UREP") == partners.Roles(0, 0)


def test_rep_for_slack_user_the_earliest_rep_wins(book):
    with book.connect() as conn:
        link = partners.rep_for_slack_user(conn, "UREP")
        assert link == partners.RepLink("acme-a", "Aki", "ja", "acme", "Acme Corp")
        assert partners.rep_for_slack_user(conn, "UNOBODY") is None


def test_partners_called_by_key_or_name_in_any_case_inside_the_book(book):
    with book.connect() as conn:
        everyone = Book()
        assert partners.partners_called(conn, "acme", everyone) == [("acme", "Acme Corp")]
        assert partners.partners_called(conn, "GLOBEX", everyone) == [("globex", "Globex")]
        assert partners.partners_called(conn, "initech kk", everyone) == [("initech", "Initech KK")]
        # UM1 manages acme and globex, and looks after umbrella: not initech.
        um1 = Book(member_slack_id="UM1")
        assert partners.partners_called(conn, "initech", um1) == []
        assert partners.partners_called(conn, "umbrella", um1) == [("umbrella", "Umbrella")]
        only_acme = Book(partner_key="acme")
        assert partners.partners_called(conn, "globex", only_acme) == []
        assert partners.partners_called(conn, "Acme Corp", only_acme) == [("acme", "Acme Corp")]


def test_in_book_and_book_where(book):
    with book.connect() as conn:
        assert partners.in_book(conn, "initech", Book())
        assert not partners.in_book(conn, "nobody", Book())
        assert partners.in_book(conn, "initech", Book(member_slack_id="UCS1"))
        assert not partners.in_book(conn, "globex", Book(member_slack_id="UCS1"))
        assert partners.in_book(conn, "acme", Book(partner_key="acme"))
        assert not partners.in_book(conn, "globex", Book(partner_key="acme"))
    assert partners.book_where(Book()) is None
    assert partners.book_where(Book(partner_key="acme")) is not None


def test_partner_row_and_rep_dates_as_stored(book):
    with book.connect() as conn:
        assert partners.partner_row(conn, "acme") == partners.PartnerRow(
            "acme", "Acme Corp", "gold", None, date(2025, 1, 1)
        )
        globex = partners.partner_row(conn, "globex")
        assert globex.signed_at == datetime(2025, 2, 1, 9, 0, tzinfo=UTC)
        assert globex.signed_on is None
        with pytest.raises(NoResultFound):
            partners.partner_row(conn, "nobody")
        assert partners.rep_dates(conn, "acme-b") == partners.RepDates(
            datetime(2025, 1, 6, 10, 0, tzinfo=UTC), None, None, date(2025, 1, 1)
        )
        assert partners.rep_dates(conn, "globex-a") == partners.RepDates(
            None, None, datetime(2025, 2, 1, 9, 0, tzinfo=UTC), None
        )
        with pytest.raises(NoResultFound):
            partners.rep_dates(conn, "nobody")


def test_manager_and_cs_ids_once_each(book):
    with book.connect() as conn:
        assert sorted(partners.manager_ids(conn)) == ["UM1", "UM2"]
        assert partners.cs_ids(conn) == ["UCS1", "UM1"]
