"""Lead and deal registration from Slack: validation, conflicts, approval, won, expiry.

Domain code: no Slack, no SQL. The rules live here (what a valid form is, what counts as
a conflict, who may approve, reject or win a deal, which status may follow which); the
rows are bot.store.registrations'. Every change writes the registration row and its event
(`lead.registered`, `deal.registered`, `deal.approved`, `deal.rejected`, `deal.won`) in
one transaction, so the KPIs see a registration exactly when it exists. The statuses form
a small state machine (below) with one owner: only this module decides a `status`.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection

from bot.core import events
from bot.domain.access import Viewer, may_see_partner
from bot.store import registrations as store

KINDS = ("lead", "deal")
CURRENCIES = ("JPY", "USD", "EUR", "GBP", "AUD", "CAD", "CNY", "KRW", "SGD", "INR")
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Legal forms at the end of a name ("Acme Co., Ltd.", "Acme Corporation"), not inside it.
LEGAL_FORMS = re.compile(
    r"(?:[\s,]+(?:inc|incorporated|ltd|limited|llc|llp|plc|gmbh|ag|sa|sas|bv|nv|co|corp|"
    r"corporation|company|kk|k\.k|pte|pty|holdings)\.?)+\s*$",
)
JA_LEGAL_FORMS = ("株式会社", "有限会社", "合同会社", "合資会社", "(株)", "(有)", "㈱")
MAX_AMOUNT = Decimal("1e15")


@dataclass(frozen=True)
class Form:
    kind: str
    company: str
    email_domain: str
    contact: str | None
    amount: Decimal | None
    currency: str | None
    expected_close: date | None
    notes: str | None


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value: str | None) -> str:
    """What a person typed, without the control characters no one means to type (NUL,
    which PostgreSQL cannot store, among them); line breaks and tabs stay."""
    return CONTROL.sub("", (value or "").replace("\r\n", "\n")).strip()


def normalise_company(name: str) -> str:
    """ "ACME Corp." and "Acme Corporation" and "株式会社アクメ" vs "アクメ(株)" compare equal."""
    text = unicodedata.normalize("NFKC", name).casefold()
    for form in JA_LEGAL_FORMS:
        text = text.replace(unicodedata.normalize("NFKC", form).casefold(), " ")
    text = LEGAL_FORMS.sub(" ", text)
    return re.sub(r"[\W_]+", "", text)


def domain_of(text: str) -> str:
    """`jane@Acme.co.jp`, `https://www.acme.co.jp/`, `acme.co.jp` → `acme.co.jp`."""
    value = text.strip().lower()
    value = value.rsplit("@", 1)[-1]
    value = re.sub(r"^[a-z]+://", "", value).split("/", 1)[0]
    return value.removeprefix("www.").rstrip(".")


def validate(kind: str, raw: dict[str, str | None], today: date) -> tuple[Form | None, dict]:
    """(form, {}) or (None, {field: error code}); the codes are worded by templates."""
    errors: dict[str, str] = {}

    def text(name: str, limit: int, required: bool) -> str | None:
        value = clean_text(raw.get(name))
        if not value:
            if required:
                errors[name] = "required"
            return None
        if len(value) > limit:
            errors[name] = "too_long"
        return value

    company = text("company", 256, True)
    domain = None
    if clean_text(raw.get("email_domain")):
        domain = domain_of(clean_text(raw.get("email_domain")))
        if not DOMAIN.match(domain):
            errors["email_domain"] = "bad_domain"
    else:
        errors["email_domain"] = "required"
    contact = text("contact", 256, False)
    notes = text("notes", 3000, False)
    amount = currency = None
    close: date | None = None
    if kind == "deal":
        amount_text = clean_text(raw.get("amount")).replace(",", "").replace(" ", "")
        if not amount_text:
            errors["amount"] = "required"
        else:
            try:
                amount = Decimal(amount_text)
                # Stored with 4 decimals: 1e-30 would silently become 0.
                exact = amount.is_finite() and amount == amount.quantize(Decimal("0.0001"))
                if not exact or amount <= 0 or amount >= MAX_AMOUNT:
                    errors["amount"] = "bad_amount"
            except InvalidOperation:
                errors["amount"] = "bad_amount"
        currency = (raw.get("currency") or "").strip().upper() or None
        if currency not in CURRENCIES:
            errors["currency"] = "required" if currency is None else "bad_currency"
    close_text = (raw.get("expected_close") or "").strip()
    if close_text:
        try:
            close = date.fromisoformat(close_text)
            if close < today:
                errors["expected_close"] = "in_the_past"
        except ValueError:
            errors["expected_close"] = "bad_date"
    elif kind == "deal":
        errors["expected_close"] = "required"
    if errors:
        return None, errors
    assert company is not None and domain is not None
    return Form(kind, company, domain, contact, amount, currency, close, notes), {}


def initial_status(kind: str) -> str:
    """A deal waits for its partner's manager; a lead is registered at once."""
    return PENDING if kind == "deal" else REGISTERED


def conflict_since(now: datetime, conflict_days: int) -> datetime:
    """How far back another partner's registration of the same customer conflicts."""
    return now - timedelta(days=conflict_days)


def register(
    conn: Connection,
    user_id: int,
    form: Form,
    now: datetime,
    conflict_days: int,
    submission_key: str | None = None,
) -> int | None:
    """Store the registration and its event; flag a conflict with another partner's.

    Returns its id, or None when `submission_key` was taken already: a replayed or
    retried submission of the same modal stores nothing.
    """
    rep = store.rep(conn, user_id)
    norm = normalise_company(form.company)
    conflict = store.latest_conflict(
        conn,
        other_than_partner=rep.partner_id,
        since=conflict_since(now, conflict_days),
        email_domain=form.email_domain,
        company_norm=norm,
        closed=CLOSED,
    )
    event_id = f"slack-{form.kind}-{uuid.uuid4().hex}"
    reg_id = store.insert_registration(
        conn,
        store.NewRegistration(
            kind=form.kind,
            partner_id=rep.partner_id,
            user_id=rep.id,
            company=form.company,
            company_norm=norm,
            email_domain=form.email_domain,
            contact=form.contact,
            amount=form.amount,
            currency=form.currency,
            expected_close=form.expected_close,
            notes=form.notes,
            status=initial_status(form.kind),
            event_id=event_id,
            created_at=now,
            conflict_id=conflict,
            submission_key=submission_key,
        ),
    )
    if reg_id is None:
        return None
    store.record_event(
        conn,
        event_id=event_id,
        type_=f"{form.kind}.registered",
        now=now,
        partner_id=rep.partner_id,
        user_id=rep.id,
        reg_id=reg_id,
        amount=form.amount,
    )
    return reg_id


def partner_manager(conn: Connection, partner_key: str) -> str | None:
    """Who approves this partner's deals."""
    return store.partner_manager(conn, partner_key)


def rep_id(conn: Connection, rep_key: str) -> int:
    return store.rep_id(conn, rep_key)


def rep_locale(conn: Connection, user_id: int) -> str | None:
    """The locale stored for the rep who registered something, if any."""
    return store.rep_locale(conn, user_id)


def parties(conn: Connection, reg_id: int) -> tuple[str | None, str | None]:
    """(the partner manager, the rep who registered it), as Slack ids; (None, None) when
    there is no such registration."""
    return store.parties(conn, reg_id)


def card(conn: Connection, reg_id: int, shown_to: Viewer | None = None) -> dict[str, Any]:
    """Everything a message about this registration shows, with its conflict if any.

    The other partner of a conflict is named only to a viewer whose book holds it
    (`shown_to`); anyone else reads "another partner": not even its existence by name
    leaks outside a book.
    """
    data = store.card_row(conn, reg_id)
    data["rep_name"] = data["rep_name"] or data["rep_key"]
    conflict_id = data["conflict_id"]
    data["conflict"] = None
    if conflict_id:
        other = store.conflict_row(conn, conflict_id)
        if other is not None:
            visible = shown_to is not None and may_see_partner(conn, shown_to, other["partner_key"])
            if not visible:
                other["partner_name"] = None
            del other["partner_key"]
            data["conflict"] = other
    return data


# --- the life of a registration ----------------------------------------------------------
#
# Every status change goes through `_move`, the one place that changes `status`:
#
#   lead:  registered
#   deal:  pending ──approve──▶ approved ──win──▶ won
#             └────reject───▶ rejected    └─expire─▶ expired
#
# Each move is a conditional update on the status it leaves, so two presses, two
# managers or a replayed click take it once; the loser is told it was decided already.

PENDING, REGISTERED, APPROVED, REJECTED = "pending", "registered", "approved", "rejected"
WON, EXPIRED = "won", "expired"
# A registration in one of these no longer conflicts with a newer one.
CLOSED = (REJECTED, EXPIRED)
MOVES: dict[str, tuple[str, str]] = {
    "approve": (PENDING, APPROVED),
    "reject": (PENDING, REJECTED),
    "win": (APPROVED, WON),
    "expire": (APPROVED, EXPIRED),
}


class DecisionError(Exception):
    """Why a move was not made: `not_yours`, `already_decided`, `not_approved`, `gone`."""


def pending_refusal(
    presser: str, manager: str | None, status: str, admins: frozenset[str]
) -> str | None:
    """Why `presser` may not approve or reject this deal now (None: they may): only its
    partner's manager or an admin decides, and only while it is pending."""
    if presser != manager and presser not in admins:
        return "not_yours"
    if status != PENDING:
        return "already_decided"
    return None


def won_refusal(presser: str, rep_slack: str | None, status: str) -> str | None:
    """Why `presser` may not mark this deal won (None: the move may be tried): only the
    rep who registered it, and not while it waits for its manager's decision."""
    if rep_slack != presser:
        return "not_yours"
    if status == PENDING:
        return "not_approved"
    return None


def decision_values(
    now: datetime, presser: str, *, approve: bool, reason: str | None, expiry_days: int
) -> dict[str, Any]:
    """The columns a decision sets besides `status`: who and when, then the expiry of an
    approval or the reason for a rejection."""
    values: dict[str, Any] = {"decided_at": now, "decided_by": presser}
    if approve:
        values["expires_at"] = now + timedelta(days=expiry_days)
    else:
        values["reject_reason"] = reason
    return values


def _deal(conn: Connection, reg_id: int) -> store.Deal:
    row = store.deal(conn, reg_id)
    if row is None:
        raise DecisionError("gone")
    return row


def _move(conn: Connection, reg_id: int, move: str, values: dict[str, Any]) -> None:
    source, target = MOVES[move]
    if not store.move_status(conn, reg_id, source, target, values):
        raise DecisionError("already_decided")


def pending_for_manager(
    conn: Connection, reg_id: int, presser: str, admins: frozenset[str]
) -> store.Deal:
    """The pending deal `presser` may decide: its partner's manager, or an admin."""
    row = _deal(conn, reg_id)
    refusal = pending_refusal(presser, row.manager_slack_id, row.status, admins)
    if refusal:
        raise DecisionError(refusal)
    return row


def decide(
    conn: Connection,
    reg_id: int,
    presser: str,
    admins: frozenset[str],
    now: datetime,
    *,
    approve: bool,
    reason: str | None = None,
    expiry_days: int = 90,
) -> None:
    """Approve or reject a pending deal; only its partner's manager (or an admin)."""
    row = pending_for_manager(conn, reg_id, presser, admins)
    values = decision_values(now, presser, approve=approve, reason=reason, expiry_days=expiry_days)
    _move(conn, reg_id, "approve" if approve else "reject", values)
    store.record_event(
        conn,
        event_id=f"slack-deal-{'approved' if approve else 'rejected'}-{reg_id}",
        type_=events.APPROVED if approve else events.REJECTED,
        now=now,
        partner_id=row.partner_id,
        user_id=row.user_id,
        reg_id=reg_id,
    )


def mark_won(conn: Connection, reg_id: int, presser: str, now: datetime) -> None:
    """The rep who registered the deal marks it won, once it is approved: a deal still
    waiting for its manager cannot skip the decision."""
    row = _deal(conn, reg_id)
    refusal = won_refusal(presser, row.rep_slack, row.status)
    if refusal:
        raise DecisionError(refusal)
    _move(conn, reg_id, "win", {"won_at": now})
    store.record_event(
        conn,
        event_id=f"slack-deal-won-{reg_id}",
        type_=events.WON,
        now=now,
        partner_id=row.partner_id,
        user_id=row.user_id,
        reg_id=reg_id,
        amount=row.amount,
    )


def expiring(conn: Connection, now: datetime, reminder_days: int) -> tuple[list[int], list[int]]:
    """(approved deals now past expiry, approved deals within `reminder_days` of it)."""
    expired = store.ids_with_status_expiring(conn, APPROVED, None, now)
    soon = store.ids_with_status_expiring(conn, APPROVED, now, now + timedelta(days=reminder_days))
    return expired, soon


def expire(conn: Connection, reg_id: int) -> bool:
    """An approved deal past its expiry lapses (False: won or lapsed meanwhile)."""
    try:
        _move(conn, reg_id, "expire", {})
    except DecisionError:
        return False
    return True
