"""The `registration` table's one owner: lead and deal registrations as stored, their
status changes, and the activity-log event each change writes.

What a registration may become, and who may move it, are bot.domain.registrations'
rules; here a status change is only a conditional update ("from this status, to that
one"), so two presses, two managers or a replayed click change a row once and the
caller learns which one lost. The rows come out as dicts and small dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, or_, select, update

from bot.store.engine import insert_ignore, table_of
from bot.store.event_log import append_event
from bot.store.handles import partners, reps
from bot.store.tables import Registration

R = table_of(Registration)


@dataclass(frozen=True)
class Rep:
    id: int
    partner_id: int


@dataclass(frozen=True)
class NewRegistration:
    """A registration as it is first stored (its id and later columns come after)."""

    kind: str
    partner_id: int
    user_id: int
    company: str
    company_norm: str
    email_domain: str
    contact: str | None
    amount: Decimal | None
    currency: str | None
    expected_close: date | None
    notes: str | None
    status: str
    event_id: str
    created_at: datetime
    conflict_id: int | None
    submission_key: str | None


@dataclass(frozen=True)
class Deal:
    """A deal registration with the people who decide on it and win it."""

    id: int
    status: str
    partner_id: int
    user_id: int
    amount: Decimal | None
    manager_slack_id: str | None
    rep_slack: str | None


def rep(conn: Connection, user_id: int) -> Rep:
    """The rep (partner user) by id, with its partner; raises when there is none."""
    row = conn.execute(select(reps.c.id, reps.c.partner_id).where(reps.c.id == user_id)).one()
    return Rep(row.id, row.partner_id)


def rep_id(conn: Connection, rep_key: str) -> int:
    """The rep's id by key; raises when there is none."""
    return int(conn.execute(select(reps.c.id).where(reps.c.key == rep_key)).scalar_one())


def rep_locale(conn: Connection, user_id: int) -> str | None:
    """The locale stored for the rep, if any."""
    return conn.execute(select(reps.c.locale).where(reps.c.id == user_id)).scalar()


def partner_manager(conn: Connection, partner_key: str) -> str | None:
    """The Slack id of the partner's manager (None: no manager, or no such partner)."""
    return conn.execute(
        select(partners.c.manager_slack_id).where(partners.c.key == partner_key)
    ).scalar()


def latest_conflict(
    conn: Connection,
    *,
    other_than_partner: int,
    since: datetime,
    email_domain: str,
    company_norm: str,
    closed: tuple[str, ...],
) -> int | None:
    """The newest registration of another partner since `since`, not in a `closed`
    status, for the same email domain or the same normalised company name (an empty
    name matches nothing)."""
    same_customer = R.c.email_domain == email_domain
    if company_norm:
        same_customer = or_(same_customer, R.c.company_norm == company_norm)
    return conn.execute(
        select(R.c.id)
        .where(
            R.c.partner_id != other_than_partner,
            R.c.created_at >= since,
            R.c.status.not_in(closed),
            same_customer,
        )
        .order_by(R.c.created_at.desc())
        .limit(1)
    ).scalar()


def insert_registration(conn: Connection, new: NewRegistration) -> int | None:
    """Store it; its id, or None when its `submission_key` is taken already (nothing is
    written: a replayed submission)."""
    values = {name: getattr(new, name) for name in NewRegistration.__dataclass_fields__}
    reg_id = conn.execute(
        insert_ignore(conn, R, ["submission_key"]).values(**values).returning(R.c.id)
    ).scalar()
    return None if reg_id is None else int(reg_id)


def record_event(
    conn: Connection,
    *,
    event_id: str,
    type_: str,
    now: datetime,
    partner_id: int,
    user_id: int,
    reg_id: int,
    amount: Decimal | None = None,
) -> None:
    """The activity-log event of a registration's step, keyed `registration:<id>`."""
    append_event(
        conn,
        event_id=event_id,
        type_=type_,
        occurred_at=now,
        partner_id=partner_id,
        user_id=user_id,
        object_key=f"registration:{reg_id}",
        amount=amount,
    )


def parties(conn: Connection, reg_id: int) -> tuple[str | None, str | None]:
    """(the partner manager, the rep who registered it), as Slack ids; (None, None) when
    there is no such registration."""
    row = conn.execute(
        select(partners.c.manager_slack_id, reps.c.slack_user_id)
        .select_from(
            R.join(partners, partners.c.id == R.c.partner_id).join(reps, reps.c.id == R.c.user_id)
        )
        .where(R.c.id == reg_id)
    ).first()
    return (row.manager_slack_id, row.slack_user_id) if row else (None, None)


def card_row(conn: Connection, reg_id: int) -> dict[str, Any]:
    """Every column of the registration, with its rep (`rep_key`, `rep_name`,
    `rep_slack`) and partner (`partner_key`, `partner_name`, `manager_slack_id`); raises
    when there is no such registration."""
    row = (
        conn.execute(
            select(
                R,
                reps.c.key.label("rep_key"),
                reps.c.name.label("rep_name"),
                reps.c.slack_user_id.label("rep_slack"),
                partners.c.key.label("partner_key"),
                partners.c.name.label("partner_name"),
                partners.c.manager_slack_id,
            )
            .join(reps, reps.c.id == R.c.user_id)
            .join(partners, partners.c.id == R.c.partner_id)
            .where(R.c.id == reg_id)
        )
        .mappings()
        .one()
    )
    return dict(row)


def conflict_row(conn: Connection, reg_id: int) -> dict[str, Any] | None:
    """What a card says about the registration another one conflicts with: id, kind,
    company, email_domain, created_at, status, partner_key, partner_name."""
    row = (
        conn.execute(
            select(
                R.c.id,
                R.c.kind,
                R.c.company,
                R.c.email_domain,
                R.c.created_at,
                R.c.status,
                partners.c.key.label("partner_key"),
                partners.c.name.label("partner_name"),
            )
            .join(partners, partners.c.id == R.c.partner_id)
            .where(R.c.id == reg_id)
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def deal(conn: Connection, reg_id: int) -> Deal | None:
    """The deal (not a lead) with this id, or None."""
    row = conn.execute(
        select(
            R.c.id,
            R.c.status,
            R.c.partner_id,
            R.c.user_id,
            R.c.amount,
            partners.c.manager_slack_id,
            reps.c.slack_user_id.label("rep_slack"),
        )
        .join(partners, partners.c.id == R.c.partner_id)
        .join(reps, reps.c.id == R.c.user_id)
        .where(R.c.id == reg_id, R.c.kind == "deal")
    ).first()
    if row is None:
        return None
    return Deal(
        row.id,
        row.status,
        row.partner_id,
        row.user_id,
        row.amount,
        row.manager_slack_id,
        row.rep_slack,
    )


def move_status(
    conn: Connection, reg_id: int, source: str, target: str, values: dict[str, Any]
) -> bool:
    """Set `status` to `target` (and `values`) only if it is `source` now; whether it was."""
    done = conn.execute(
        update(R).where(R.c.id == reg_id, R.c.status == source).values(status=target, **values)
    ).rowcount
    return bool(done)


def ids_with_status_expiring(
    conn: Connection, status: str, after: datetime | None, until: datetime
) -> list[int]:
    """Registrations in `status` whose `expires_at` is in (`after`, `until`] (no lower
    bound when `after` is None)."""
    where = [R.c.status == status]
    if after is not None:
        where.append(R.c.expires_at > after)
    where.append(R.c.expires_at <= until)
    return [int(i) for (i,) in conn.execute(select(R.c.id).where(*where))]
