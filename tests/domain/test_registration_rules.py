"""The registration rules as pure functions, without a database: what a valid form is,
how companies and domains compare, which status a registration starts in, and who may
approve, reject or win a deal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bot.domain import registrations as regs

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
TODAY = date(2026, 5, 1)
DEAL = {
    "company": "Acme Corp.",
    "email_domain": "jane@Acme.co.jp",
    "amount": "1,200,000",
    "currency": "jpy",
    "expected_close": "2026-06-30",
}


def test_a_valid_deal_becomes_a_form_with_its_values_cleaned():
    form, errors = regs.validate("deal", {**DEAL, "notes": "a\x00b\r\nc "}, TODAY)
    assert errors == {}
    assert form == regs.Form(
        kind="deal",
        company="Acme Corp.",
        email_domain="acme.co.jp",
        contact=None,
        amount=Decimal("1200000"),
        currency="JPY",
        expected_close=date(2026, 6, 30),
        notes="ab\nc",
    )


def test_a_lead_needs_only_a_company_and_a_domain():
    form, errors = regs.validate("lead", {"company": "Acme", "email_domain": "acme.com"}, TODAY)
    assert errors == {}
    assert form is not None and form.amount is None and form.expected_close is None


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"company": "  "}, "company", "required"),
        ({"company": "x" * 257}, "company", "too_long"),
        ({"email_domain": ""}, "email_domain", "required"),
        ({"email_domain": "not a domain"}, "email_domain", "bad_domain"),
        ({"amount": ""}, "amount", "required"),
        ({"amount": "-5"}, "amount", "bad_amount"),
        ({"amount": "1e-30"}, "amount", "bad_amount"),
        ({"amount": "1e15"}, "amount", "bad_amount"),
        ({"amount": "NaN"}, "amount", "bad_amount"),
        ({"amount": "lots"}, "amount", "bad_amount"),
        ({"currency": ""}, "currency", "required"),
        ({"currency": "XYZ"}, "currency", "bad_currency"),
        ({"expected_close": ""}, "expected_close", "required"),
        ({"expected_close": "2026-04-30"}, "expected_close", "in_the_past"),
        ({"expected_close": "next week"}, "expected_close", "bad_date"),
    ],
)
def test_each_invalid_field_gets_its_error_code(changes, field, code):
    form, errors = regs.validate("deal", {**DEAL, **changes}, TODAY)
    assert form is None
    assert errors == {field: code}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ACME Corp.", "Acme Corporation"),
        ("Acme Co., Ltd.", "acme"),
        ("株式会社アクメ", "アクメ(株)"),
        ("Ａｃｍｅ", "acme"),
    ],
)
def test_company_names_compare_without_case_width_or_legal_form(a, b):
    assert regs.normalise_company(a) == regs.normalise_company(b)


def test_a_legal_form_inside_a_name_is_kept():
    assert regs.normalise_company("Limited Editions Inc.") == "limitededitions"
    assert regs.normalise_company("Incognito Ltd") == "incognito"


@pytest.mark.parametrize(
    "text", ["jane@Acme.co.jp", "https://www.acme.co.jp/", "acme.co.jp.", "WWW.ACME.CO.JP"]
)
def test_domain_of_takes_the_domain_from_an_address_or_url(text):
    assert regs.domain_of(text) == "acme.co.jp"


def test_clean_text_drops_control_characters_but_keeps_line_breaks_and_tabs():
    assert regs.clean_text(" a\x00\x07b\tc\r\nd\x7f ") == "ab\tc\nd"
    assert regs.clean_text(None) == ""


def test_a_deal_starts_pending_and_a_lead_registered():
    assert regs.initial_status("deal") == regs.PENDING
    assert regs.initial_status("lead") == regs.REGISTERED


def test_the_conflict_window_looks_back_the_configured_days():
    assert regs.conflict_since(NOW, 90) == NOW - timedelta(days=90)


def test_rejected_and_expired_registrations_no_longer_conflict():
    assert set(regs.CLOSED) == {regs.REJECTED, regs.EXPIRED}


def test_the_moves_form_the_state_machine():
    assert regs.MOVES == {
        "approve": ("pending", "approved"),
        "reject": ("pending", "rejected"),
        "win": ("approved", "won"),
        "expire": ("approved", "expired"),
    }


@pytest.mark.parametrize(
    ("presser", "status", "admins", "refusal"),
    [
        ("UMGR", "pending", frozenset(), None),
        ("UADMIN", "pending", frozenset({"UADMIN"}), None),
        ("UREP", "pending", frozenset(), "not_yours"),
        ("UMGR", "approved", frozenset(), "already_decided"),
        ("UREP", "approved", frozenset(), "not_yours"),  # not yours is said first
    ],
)
def test_only_the_manager_or_an_admin_decides_a_pending_deal(presser, status, admins, refusal):
    assert regs.pending_refusal(presser, "UMGR", status, admins) == refusal


def test_a_partner_without_a_manager_has_its_deals_decided_by_admins_only():
    assert regs.pending_refusal("UMGR", None, "pending", frozenset()) == "not_yours"
    assert regs.pending_refusal("UADMIN", None, "pending", frozenset({"UADMIN"})) is None


@pytest.mark.parametrize(
    ("presser", "status", "refusal"),
    [
        ("UREP", "approved", None),
        ("UREP", "won", None),  # the move itself then says "already decided"
        ("UREP", "pending", "not_approved"),
        ("UMGR", "approved", "not_yours"),
    ],
)
def test_only_the_rep_marks_a_deal_won_and_not_before_its_decision(presser, status, refusal):
    assert regs.won_refusal(presser, "UREP", status) == refusal


def test_a_rep_without_slack_cannot_mark_won():
    assert regs.won_refusal("UREP", None, "approved") == "not_yours"


def test_an_approval_sets_its_expiry_and_a_rejection_its_reason():
    assert regs.decision_values(NOW, "UMGR", approve=True, reason="x", expiry_days=30) == {
        "decided_at": NOW,
        "decided_by": "UMGR",
        "expires_at": NOW + timedelta(days=30),
    }
    assert regs.decision_values(NOW, "UMGR", approve=False, reason="dup", expiry_days=30) == {
        "decided_at": NOW,
        "decided_by": "UMGR",
        "reject_reason": "dup",
    }
