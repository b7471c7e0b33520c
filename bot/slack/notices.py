"""What the bot tells people about a registration, owed in the ledger with the change.

The rep's receipt, the approval card in the partner manager's DM, the decision notice to
the rep, and the card kept true (updated in place) as the deal moves on. Each `on_…`
runs inside the caller's transaction — the one that stores the registration or moves
it — and returns the ledger keys it owed, for the caller to send once it has committed
(bot/jobs/outbox.py). So a restart or a Slack outage right after a submit leaves the
card owed, never lost; and a replayed submit or click owes nothing twice (unique keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from bot.domain import registrations as regs
from bot.domain.access import resolve_viewer
from bot.slack.blocks import Rendered
from bot.slack.delivery import post_payload, update_payload
from bot.slack.ids import REG_APPROVE, REG_REJECT, REG_WON
from bot.slack.messages import render_message
from bot.store import ledger

JOB = "registration"  # the ledger's `job` column: who owes these messages
RETRY_FOR = timedelta(days=3)  # a card or notice is worth sending late; after that, by hand
IDS = {"approve": REG_APPROVE, "reject": REG_REJECT, "won": REG_WON}


@dataclass(frozen=True)
class Audience:
    """Who reads the messages about one registration, in which language (worked out
    before the transaction: it may ask Slack), and in which workspace."""

    manager: str | None
    manager_locale: str
    rep: str | None
    rep_locale: str
    team: str | None
    admins: frozenset[str]
    tz: ZoneInfo


def card_key(reg_id: int) -> str:
    return f"{JOB}:{reg_id}:card"


def render(view: str, reg: dict, locale: str, tz: ZoneInfo) -> Rendered:
    return render_message("registration", locale, view=view, reg=reg, ids=IDS, tz=tz)


def _owe(
    conn: Connection,
    key: str,
    kind: str,
    reg: dict,
    recipient: str | None,
    payload: dict,
    now: datetime,
    wall: datetime,
) -> list[str]:
    entry = ledger.Entry(
        key=key, job=JOB, kind=kind, recipient=recipient or reg["rep_key"], user_id=reg["user_id"]
    )
    return [key] if ledger.enqueue(conn, entry, payload, now, wall, wall + RETRY_FOR) else []


def _to(slack_id: str | None, why: str) -> dict[str, str]:
    return {"user": slack_id} if slack_id else {"why": why}


def _card(conn: Connection, reg_id: int, audience: Audience) -> dict:
    """The registration as its card shows it: to the manager, whose book decides whether
    a conflicting partner may be named."""
    viewer = resolve_viewer(conn, audience.manager, audience.admins) if audience.manager else None
    return regs.card(conn, reg_id, shown_to=viewer)


def on_registered(
    conn: Connection, reg_id: int, audience: Audience, now: datetime, wall: datetime
) -> list[str]:
    """The rep's receipt; for a deal, the approval card to its decider (the partner's
    manager, else the first admin; undeliverable, and listed in `prm jobs history`, when
    there is neither)."""
    reg = regs.card(conn, reg_id)
    receipt = render("confirm", reg, audience.rep_locale, audience.tz)
    keys = _owe(
        conn,
        f"{JOB}:{reg_id}:receipt",
        "receipt",
        reg,
        audience.rep,
        post_payload(receipt, _to(audience.rep, "no_slack_id"), audience.team),
        now,
        wall,
    )
    if reg["kind"] == "deal":
        card = render("card", _card(conn, reg_id, audience), audience.manager_locale, audience.tz)
        keys += _owe(
            conn,
            card_key(reg_id),
            "card",
            reg,
            audience.manager,
            post_payload(card, _to(audience.manager, "no_manager"), audience.team),
            now,
            wall,
        )
    return keys


def on_moved(
    conn: Connection,
    reg_id: int,
    audience: Audience,
    now: datetime,
    wall: datetime,
    *,
    tell_rep: bool,
) -> list[str]:
    """After a move (approved, rejected, won, expired): the card says so, and the rep is
    told of a decision.

    A card not in Slack yet (owed, or in doubt) is rewritten, so that when it goes out —
    or is resent by hand — it says what is true by then; a card in Slack is updated in
    place, and every update still owed for it gets this newest version too (updates may
    go out in any order; the card must end up saying the last one).
    """
    reg = _card(conn, reg_id, audience)
    keys: list[str] = []
    key = card_key(reg_id)
    status = ledger.status_of(conn, key)
    if audience.manager and status not in (None, ledger.UNDELIVERABLE):
        card = render("card", reg, audience.manager_locale, audience.tz)
        if status in (*ledger.TAKEABLE, ledger.AMBIGUOUS, ledger.FAILED):
            fresh = post_payload(card, _to(audience.manager, "no_manager"), audience.team)
            ledger.rewrite_payload(conn, key, fresh)
            keys += [key] if status in ledger.TAKEABLE else []
        else:  # sent, or being sent: update it in place once it is there
            newest = update_payload(card, key, audience.team)
            ledger.rewrite_unsent_followers(conn, key, newest)
            keys += _owe(
                conn, f"{key}:{reg['status']}", "card_update", reg, audience.manager, newest,
                now, wall,
            )  # fmt: skip
    if tell_rep:
        notice = render("decided", reg, audience.rep_locale, audience.tz)
        keys += _owe(
            conn,
            f"{JOB}:{reg_id}:decided",
            "decision",
            reg,
            audience.rep,
            post_payload(notice, _to(audience.rep, "no_slack_id"), audience.team),
            now,
            wall,
        )
    return keys


def decider(manager: str | None, admins_in_order: tuple[str, ...]) -> str | None:
    """Who decides a partner's deals: its manager, else the first admin listed."""
    return manager or (admins_in_order[0] if admins_in_order else None)
