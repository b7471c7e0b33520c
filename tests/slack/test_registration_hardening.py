"""Registration under attack and under failure: forged "won", replayed submissions,
hostile text, a conflict outside the manager's book, garbage button values, NUL, and a
Slack that is down when the deal is submitted."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bot.slack.client import Clients
from bot.slack.ids import REG_APPROVE, REG_REJECT, REG_WON, REGISTER_VIEW, REJECT_VIEW
from bot.slack.outbox import drain
from bot.store.tables import Delivery, Event
from tests.builders import Store
from tests.slack.conftest import MANAGER, MANAGER_2, REP_EN, REP_OTHER, sign
from tests.slack.payloads import button_press, words
from tests.slack.test_registration import (
    DEAL,
    _state,
    dms_to,
    events,
    press,
    register_deal,
    registrations,
    submission,
    submit,
)

HOSTILE_NOTES = (
    "keen\n# Deal from X — approved\n[[url|https://evil.example/sso]] Re-authenticate\n"
    "[[reg_approve|1|primary]] Approve\n---\n> <!channel> <@UADMIN> <https://evil.example|x>"
)


def shape(params: dict) -> list[tuple]:
    """The structure of a message: block kinds, and each element's kind, action and link."""
    blocks = params["blocks"]
    out = []
    for block in blocks:
        elements = block.get("elements") or []
        out.append(
            (
                block["type"],
                tuple(
                    (e.get("type"), e.get("action_id"), "url" in e, e.get("style"))
                    for e in elements
                    if isinstance(e, dict) and e.get("type") != "mrkdwn"
                ),
            )
        )
    return out


def links(params: dict) -> int:
    """Slack link and mention syntax in the message's mrkdwn."""
    return sum(
        str(t.get("text", "")).count("<")
        for b in params["blocks"]
        for t in [b.get("text") or {}, *b.get("elements", [])]
        if isinstance(t, dict) and t.get("type") == "mrkdwn"
    )


def wait_until(condition, what: str, timeout: float = 10.0) -> None:
    """For work a Bolt listener does after its ack, in its own thread."""
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        done.wait(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def deliveries(world) -> list[dict]:
    with world.engine.connect() as conn:
        table = Delivery.__table__
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.id))]


def test_a_rep_cannot_mark_their_own_pending_deal_won(world):
    reg = register_deal(world, amount="250000", currency="USD")
    press(world, REP_EN, REG_WON, str(reg["id"]))
    answer = world.fake.wait_for("response_url")[0].params
    assert "waiting for your partner manager" in words(answer)
    assert registrations(world)[0]["status"] == "pending"
    assert events(world, "deal.won") == []
    # Once approved, it can be won; the card says so too.
    press(world, MANAGER, REG_APPROVE, str(reg["id"]))
    world.fake.wait_for("chat.update")
    press(world, REP_EN, REG_WON, str(reg["id"]))
    wait_until(lambda: registrations(world)[0]["status"] == "won", "the win")
    assert len(events(world, "deal.won")) == 1


def test_a_submission_sent_twice_stores_one_registration_and_one_card(world):
    body = submission(REP_EN, REGISTER_VIEW, {"kind": "deal"}, DEAL, view_id="V42")
    headers = sign(body)  # the same signed bytes, twice (a replay, or Slack retrying)
    for _ in range(2):
        response = world.post(body, "application/x-www-form-urlencoded", headers=headers)
        assert response.status_code == 200
    world.fake.wait_for("chat.postMessage", count=2)
    wait_until(lambda: len(deliveries(world)) >= 2, "the ledger rows")
    assert len(registrations(world)) == 1
    assert len(events(world, "deal.registered")) == 1
    assert len(dms_to(world, MANAGER)) == 1 and len(dms_to(world, REP_EN)) == 1
    # A corrected resubmission of the same modal (other values) is a new registration.
    submit(world, REP_EN, REGISTER_VIEW, {"kind": "deal"}, {**DEAL, "company": "Other Co"})
    wait_until(lambda: len(registrations(world)) == 2, "the second registration")


def test_hostile_notes_and_reasons_change_no_message_structure(world):
    benign = register_deal(world, company="Benign KK", email_domain="benign.jp", notes="keen")
    benign_card = dms_to(world, MANAGER)[-1].params
    hostile = register_deal(
        world,
        company="Evil\n[[url|https://evil.example/x]] Open portal",
        email_domain="evil.example",
        contact="# Header\n---",
        notes=HOSTILE_NOTES,
    )
    hostile_card = dms_to(world, MANAGER)[-1].params
    assert shape(hostile_card) == shape(benign_card)
    assert links(hostile_card) == links(benign_card)
    assert "https://evil.example/sso" not in json.dumps(
        [e for b in hostile_card["blocks"] for e in b.get("elements", []) if "url" in e]
    )
    assert shape(dms_to(world, REP_EN)[-1].params) == shape(dms_to(world, REP_EN)[0].params)
    # The notes are shown, as text.
    assert "[[reg_approve|1|primary]] Approve" in words(hostile_card)

    for reg, reason in ((benign, "duplicate"), (hostile, HOSTILE_NOTES)):
        press(world, MANAGER, REG_REJECT, str(reg["id"]))
        submit(world, MANAGER, REJECT_VIEW, {"id": reg["id"]}, {"reason": reason})
    world.fake.wait_for("chat.update", count=2)
    first, second = world.fake.calls_to("chat.update")[-2:]
    assert shape(first.params) == shape(second.params)
    wait_until(lambda: len(dms_to(world, REP_EN)) == 4, "the decision notices")
    notices = dms_to(world, REP_EN)[-2:]
    assert shape(notices[0].params) == shape(notices[1].params)
    assert links(notices[0].params) == links(notices[1].params)


def test_a_conflict_outside_the_managers_book_does_not_name_the_other_partner(world):
    # Initech (MANAGER_2's partner) registers the customer first.
    Store(world.engine).user("initech-ina", "initech", "2025-06-05", name="Ina",
                             slack_user_id="UINA")  # fmt: skip
    world.fake.add_user("UINA")
    register_deal(world, "UINA", company="Contoso", email_domain="contoso.co.jp")
    assert "Possible conflict" not in words(dms_to(world, MANAGER_2)[-1].params)
    register_deal(world, REP_EN)  # same domain, acme's manager is MANAGER
    card = words(dms_to(world, MANAGER)[-1].params)
    assert "Possible conflict" in card and "another partner" in card
    assert "Initech" not in card


@pytest.mark.parametrize("value", ["abc", "1.5", "²", "", "-3", "9" * 40, "1\x00"])
def test_a_garbled_button_value_gets_a_polite_answer(world, value):
    for action in (REG_APPROVE, REG_REJECT, REG_WON):
        body = button_press(MANAGER, action, value, world.fake.response_url())
        assert world.post(body, "application/x-www-form-urlencoded").status_code == 200
    answers = world.fake.wait_for("response_url", count=3)
    assert all("no longer exists" in words(a.params) for a in answers)


@pytest.mark.parametrize("meta", ["not json", "[1, 2]", '{"id": "x"}', '"deal"', "null"])
def test_garbled_private_metadata_is_refused_not_crashed(world, meta):
    payload = {
        "type": "view_submission",
        "team": {"id": "T0001"},
        "user": {"id": REP_EN},
        "api_app_id": "A0001",
        "view": {"id": "V7", "type": "modal", "callback_id": REGISTER_VIEW,
                 "private_metadata": meta, "state": _state(DEAL)},
    }  # fmt: skip
    body = urlencode({"payload": json.dumps(payload)})
    response = world.post(body, "application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.json()["response_action"] == "errors"
    payload["view"]["callback_id"] = REJECT_VIEW
    payload["user"]["id"] = MANAGER
    payload["view"]["state"] = _state({"reason": "no"})
    body = urlencode({"payload": json.dumps(payload)})
    assert world.post(body, "application/x-www-form-urlencoded").status_code == 200
    assert registrations(world) == []


def test_nul_characters_in_a_modal_are_dropped_and_the_deal_stored(world):
    reg = register_deal(world, company="Acme\x00 Widgets", notes="line\x00one")
    assert reg["company"] == "Acme Widgets" and reg["notes"] == "lineone"
    assert "Acme Widgets" in words(dms_to(world, MANAGER)[-1].params)


def test_a_card_sent_while_slack_was_down_arrives_once_slack_is_back(world):
    world.fake.down()
    response = submit(world, REP_EN, REGISTER_VIEW, {"kind": "deal"}, DEAL)
    assert response.status_code == 200
    owed = lambda: [r["status"] for r in deliveries(world)]  # noqa: E731
    wait_until(lambda: owed() == ["retry", "retry"], "the receipt and the card owed for a retry")
    assert registrations(world)[0]["status"] == "pending"  # the deal is stored regardless
    clients = Clients(world.settings, world.engine)
    now = datetime.now(UTC)
    # Still down: the retry fails again, nothing is lost.
    assert drain(world.engine, clients, now=now, wall=now + timedelta(minutes=1)) == {
        "retry:unreachable:ConnectionRefusedError": 2
    }
    world.fake.up()
    sent = drain(world.engine, clients, now=now, wall=now + timedelta(minutes=3))
    assert sent == {"sent": 2}
    assert len(dms_to(world, MANAGER)) == 1 and len(dms_to(world, REP_EN)) == 1
    assert "Contoso KK" in words(dms_to(world, MANAGER)[0].params)
    assert drain(world.engine, clients, now=now, wall=now + timedelta(hours=1)) == {}
    # The card's place is known: approving it updates that message.
    press(world, MANAGER, REG_APPROVE, str(registrations(world)[0]["id"]))
    update = world.fake.wait_for("chat.update")[0].params
    assert update["ts"] == dms_to(world, MANAGER)[0].params.get("ts", update["ts"])


def test_events_of_registration_are_not_doubled_by_a_replayed_decision(world):
    reg = register_deal(world)
    for _ in range(3):
        press(world, MANAGER, REG_APPROVE, str(reg["id"]))
    world.fake.wait_for("response_url", count=2)  # the two presses that came too late
    assert len(events(world, "deal.approved")) == 1
    assert len(world.fake.calls_to("chat.update")) == 1


def test_rep_other_cannot_decide_or_win(world):
    reg = register_deal(world)
    press(world, REP_OTHER, REG_APPROVE, str(reg["id"]))
    press(world, REP_OTHER, REG_WON, str(reg["id"]))
    answers = world.fake.wait_for("response_url", count=2)
    assert all("belongs to someone else" in words(a.params) for a in answers)
    with world.engine.connect() as conn:
        assert conn.execute(select(Event.__table__).where(Event.type == "deal.won")).all() == []


def test_card_updates_that_go_out_late_end_with_the_last_state(world):
    reg = register_deal(world)
    world.fake.rate_limit_next("chat.update", retry_after=0, times=3)  # past the retries
    press(world, MANAGER, REG_APPROVE, str(reg["id"]))

    def update_owed() -> bool:
        return any(r["kind"] == "card_update" and r["status"] == "retry" for r in deliveries(world))

    wait_until(update_owed, "the approval's card update owed")
    press(world, REP_EN, REG_WON, str(reg["id"]))  # its update goes out at once
    wait_until(lambda: registrations(world)[0]["status"] == "won", "the win")
    now = datetime.now(UTC)
    drain(
        world.engine,
        Clients(world.settings, world.engine),
        now=now,
        wall=now + timedelta(minutes=5),
    )
    last = world.fake.calls_to("chat.update")[-1].params
    assert "won" in words(last).lower() and "approved by" not in words(last).lower()


def test_a_deal_of_a_partner_without_a_manager_goes_to_the_first_admin(world):
    from tests.slack.conftest import ADMIN

    with world.engine.begin() as conn:
        from bot.store.tables import Partner

        conn.execute(Partner.__table__.update().where(Partner.key == "acme").values(
            manager_slack_id=None))  # fmt: skip
    submit(world, REP_EN, REGISTER_VIEW, {"kind": "deal"}, DEAL)
    world.fake.wait_for("chat.postMessage", count=2)
    card = dms_to(world, ADMIN)
    assert len(card) == 1 and "Contoso KK" in words(card[0].params)
    press(world, ADMIN, REG_APPROVE, str(registrations(world)[0]["id"]))
    wait_until(lambda: registrations(world)[0]["status"] == "approved", "the admin's approval")


def test_rejecting_a_deal_decided_meanwhile_keeps_the_form_open_and_says_so(world):
    reg = register_deal(world)
    press(world, MANAGER, REG_APPROVE, str(reg["id"]))
    wait_until(lambda: registrations(world)[0]["status"] == "approved", "the approval")
    body = submit(world, MANAGER, REJECT_VIEW, {"id": reg["id"]}, {"reason": "too late"}).json()
    assert body["response_action"] == "errors"
    assert "already been decided" in body["errors"]["reason"]
    assert registrations(world)[0]["status"] == "approved"


def test_a_replaced_message_keeps_its_data_verbatim(world):
    reg = register_deal(world)
    press(world, MANAGER, REG_APPROVE, str(reg["id"]))
    world.fake.wait_for("chat.update")
    # The rep marks it won on a DM whose echo came back without the verbatim flag.
    echo = [{"type": "section", "text": {"type": "mrkdwn", "text": "https://evil.example/x"}}]
    body = button_press(REP_EN, REG_WON, str(reg["id"]), world.fake.response_url(), blocks=echo)
    world.post(body, "application/x-www-form-urlencoded")
    (replaced,) = world.fake.wait_for("response_url")
    texts = [b["text"] for b in replaced.params["blocks"] if b.get("type") == "section"]
    assert texts and all(t.get("verbatim") for t in texts)


@pytest.mark.parametrize("amount", ["1e-30", "0.00001", "-5", "NaN", "Infinity", "1e16"])
def test_an_amount_the_deal_cannot_hold_exactly_is_refused_on_the_field(world, amount):
    response = submit(world, REP_EN, REGISTER_VIEW, {"kind": "deal"}, {**DEAL, "amount": amount})
    body = response.json()
    assert body["response_action"] == "errors" and set(body["errors"]) == {"amount"}
    assert registrations(world) == []
