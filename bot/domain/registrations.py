"""Lead and deal registration from Slack: validation, conflicts, approval, won, expiry.

Domain code: no Slack. Every change writes the registration row and its event
(`lead.registered`, `deal.registered`, `deal.approved`, `deal.rejected`, `deal.won`) in
one transaction, so the KPIs see a registration exactly when it exists. The statuses form
a small state machine (below) with one owner: only this module writes `status`.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from bot.core import events
from bot.domain.access import Viewer, may_see_partner
from bot.kpi.sql import P, U
from bot.store.engine import insert_ignore
from bot.store.tables import Event, Registration

R = Registration.__table__
E = Event.__table__

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
    rep = conn.execute(select(U.c.id, U.c.partner_id).where(U.c.id == user_id)).one()
    norm = normalise_company(form.company)
    conflict = conn.execute(
        select(R.c.id)
        .where(
            R.c.partner_id != rep.partner_id,
            R.c.created_at >= now - timedelta(days=conflict_days),
            R.c.status.not_in(("rejected", "expired")),
            or_(R.c.email_domain == form.email_domain, and_(R.c.company_norm == norm, norm != "")),
        )
        .order_by(R.c.created_at.desc())
        .limit(1)
    ).scalar()
    event_id = f"slack-{form.kind}-{uuid.uuid4().hex}"
    reg_id = conn.execute(
        insert_ignore(conn, R, ["submission_key"])
        .values(
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
            status=PENDING if form.kind == "deal" else REGISTERED,
            event_id=event_id,
            created_at=now,
            conflict_id=conflict,
            submission_key=submission_key,
        )
        .returning(R.c.id)
    ).scalar()
    if reg_id is None:
        return None
    _event(
        conn, event_id, f"{form.kind}.registered", now, rep.partner_id, rep.id, reg_id, form.amount
    )
    return int(reg_id)


def partner_manager(conn: Connection, partner_key: str) -> str | None:
    """Who approves this partner's deals."""
    return conn.execute(select(P.c.manager_slack_id).where(P.c.key == partner_key)).scalar()


def rep_id(conn: Connection, rep_key: str) -> int:
    return int(conn.execute(select(U.c.id).where(U.c.key == rep_key)).scalar_one())


def parties(conn: Connection, reg_id: int) -> tuple[str | None, str | None]:
    """(the partner manager, the rep who registered it), as Slack ids; (None, None) when
    there is no such registration."""
    row = conn.execute(
        select(P.c.manager_slack_id, U.c.slack_user_id)
        .select_from(R.join(P, P.c.id == R.c.partner_id).join(U, U.c.id == R.c.user_id))
        .where(R.c.id == reg_id)
    ).first()
    return (row.manager_slack_id, row.slack_user_id) if row else (None, None)


def _event(conn, event_id, type_, now, partner_id, user_id, reg_id, amount=None) -> None:
    conn.execute(
        insert(E).values(
            event_id=event_id,
            occurred_at=now,
            type=type_,
            partner_id=partner_id,
            user_id=user_id,
            object_key=f"registration:{reg_id}",
            amount=amount,
        )
    )


def card(conn: Connection, reg_id: int, shown_to: Viewer | None = None) -> dict[str, Any]:
    """Everything a message about this registration shows, with its conflict if any.

    The other partner of a conflict is named only to a viewer whose book holds it
    (`shown_to`); anyone else reads "another partner": not even its existence by name
    leaks outside a book.
    """
    row = (
        conn.execute(
            select(
                R,
                U.c.key.label("rep_key"),
                U.c.name.label("rep_name"),
                U.c.slack_user_id.label("rep_slack"),
                P.c.key.label("partner_key"),
                P.c.name.label("partner_name"),
                P.c.manager_slack_id,
            )
            .join(U, U.c.id == R.c.user_id)
            .join(P, P.c.id == R.c.partner_id)
            .where(R.c.id == reg_id)
        )
        .mappings()
        .one()
    )
    data = dict(row)
    data["rep_name"] = data["rep_name"] or data["rep_key"]
    data["conflict"] = None
    if row["conflict_id"]:
        other = (
            conn.execute(
                select(
                    R.c.id,
                    R.c.kind,
                    R.c.company,
                    R.c.email_domain,
                    R.c.created_at,
                    R.c.status,
                    P.c.key.label("partner_key"),
                    P.c.name.label("partner_name"),
                )
                .join(P, P.c.id == R.c.partner_id)
                .where(R.c.id == row["conflict_id"])
            )
            .mappings()
            .first()
        )
        if other is not None:
            data["conflict"] = dict(other)
            visible = shown_to is not None and may_see_partner(conn, shown_to, other["partner_key"])
            if not visible:
                data["conflict"]["partner_name"] = None
            del data["conflict"]["partner_key"]
    return data


# --- the life of a registration ----------------------------------------------------------
#
# Every status change goes through `_move`, the one place that writes `status`:
#
#   lead:  registered
#   deal:  pending ──approve──▶ approved ──win──▶ won
#             └────reject───▶ rejected    └─expire─▶ expired
#
# Each move is a conditional update on the status it leaves, so two presses, two
# managers or a replayed click take it once; the loser is told it was decided already.

PENDING, REGISTERED, APPROVED, REJECTED = "pending", "registered", "approved", "rejected"
WON, EXPIRED = "won", "expired"
MOVES: dict[str, tuple[str, str]] = {
    "approve": (PENDING, APPROVED),
    "reject": (PENDING, REJECTED),
    "win": (APPROVED, WON),
    "expire": (APPROVED, EXPIRED),
}


class DecisionError(Exception):
    """Why a move was not made: `not_yours`, `already_decided`, `not_approved`, `gone`."""


def _deal(conn: Connection, reg_id: int):
    row = conn.execute(
        select(
            R.c.id,
            R.c.status,
            R.c.partner_id,
            R.c.user_id,
            R.c.amount,
            P.c.manager_slack_id,
            U.c.slack_user_id.label("rep_slack"),
        )
        .join(P, P.c.id == R.c.partner_id)
        .join(U, U.c.id == R.c.user_id)
        .where(R.c.id == reg_id, R.c.kind == "deal")
    ).first()
    if row is None:
        raise DecisionError("gone")
    return row


def _move(conn: Connection, reg_id: int, move: str, values: dict[str, Any]) -> None:
    source, target = MOVES[move]
    done = conn.execute(
        update(R).where(R.c.id == reg_id, R.c.status == source).values(status=target, **values)
    ).rowcount
    if not done:
        raise DecisionError("already_decided")


def pending_for_manager(conn, reg_id: int, presser: str, admins: frozenset[str]):
    """The pending deal `presser` may decide: its partner's manager, or an admin."""
    row = _deal(conn, reg_id)
    if presser != row.manager_slack_id and presser not in admins:
        raise DecisionError("not_yours")
    if row.status != PENDING:
        raise DecisionError("already_decided")
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
    values: dict[str, Any] = {"decided_at": now, "decided_by": presser}
    if approve:
        values["expires_at"] = now + timedelta(days=expiry_days)
    else:
        values["reject_reason"] = reason
    _move(conn, reg_id, "approve" if approve else "reject", values)
    _event(
        conn,
        f"slack-deal-{'approved' if approve else 'rejected'}-{reg_id}",
        events.APPROVED if approve else events.REJECTED,
        now,
        row.partner_id,
        row.user_id,
        reg_id,
    )


def mark_won(conn: Connection, reg_id: int, presser: str, now: datetime) -> None:
    """The rep who registered the deal marks it won, once it is approved: a deal still
    waiting for its manager cannot skip the decision."""
    row = _deal(conn, reg_id)
    if row.rep_slack != presser:
        raise DecisionError("not_yours")
    if row.status == PENDING:
        raise DecisionError("not_approved")
    _move(conn, reg_id, "win", {"won_at": now})
    _event(
        conn,
        f"slack-deal-won-{reg_id}",
        events.WON,
        now,
        row.partner_id,
        row.user_id,
        reg_id,
        row.amount,
    )


def expiring(conn: Connection, now: datetime, reminder_days: int) -> tuple[list[int], list[int]]:
    """(approved deals now past expiry, approved deals within `reminder_days` of it)."""
    expired = [
        i
        for (i,) in conn.execute(
            select(R.c.id).where(R.c.status == APPROVED, R.c.expires_at <= now)
        )
    ]
    soon = [
        i
        for (i,) in conn.execute(
            select(R.c.id).where(
                R.c.status == APPROVED,
                R.c.expires_at > now,
                R.c.expires_at <= now + timedelta(days=reminder_days),
            )
        )
    ]
    return expired, soon


def expire(conn: Connection, reg_id: int) -> bool:
    """An approved deal past its expiry lapses (False: won or lapsed meanwhile)."""
    try:
        _move(conn, reg_id, "expire", {})
    except DecisionError:
        return False
    return True
