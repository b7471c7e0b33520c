"""Lead and deal registration end to end through the real app with signed requests:
modal, field errors, the approval card, conflicts, approve/reject/won, expiry."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import select

from bot.jobs.registry import run_job
from bot.slack.client import job_client
from bot.slack.ids import REG_APPROVE, REG_REJECT, REG_WON, REGISTER_VIEW, REJECT_VIEW
from bot.store.tables import Event, Registration
from tests.slack.conftest import AS_OF, CS, MANAGER, REP_EN, REP_OTHER
from tests.slack.payloads import button_press, words

DEAL = {
    "company": "Contoso KK",
    "email_domain": "jane@contoso.co.jp",
    "contact": "Jane",
    "amount": "1,200,000",
    "currency": "JPY",
    "expected_close": "2026-12-15",
    "notes": "Pilot in Q1",
}


def _state(values: dict[str, str]) -> dict:
    state = {}
    for block, value in values.items():
        if block == "currency":
            element = {"type": "static_select", "selected_option": {"value": value}}
        elif block == "expected_close":
            element = {"type": "datepicker", "selected_date": value}
        else:
            element = {"type": "plain_text_input", "value": value}
        state[block] = {"value": element}
    return {"values": state}


def submission(
    user: str, callback: str, meta: dict, values: dict[str, str], view_id: str = "V1"
) -> str:
    """The form body Slack posts when `user` submits a modal."""
    payload = {
        "type": "view_submission",
        "team": {"id": "T0001"},
        "user": {"id": user},
        "api_app_id": "A0001",
        "trigger_id": "1.2.3",
        "view": {
            "id": view_id,
            "type": "modal",
            "callback_id": callback,
            "private_metadata": json.dumps(meta),
            "state": _state(values),
        },
    }
    return urlencode({"payload": json.dumps(payload)})


def submit(world, user: str, callback: str, meta: dict, values: dict[str, str]):
    return world.post(submission(user, callback, meta, values), "application/x-www-form-urlencoded")


def press(world, user: str, action_id: str, value: str):
    body = button_press(user, action_id, value, world.fake.response_url(), trigger_id="9.9.9")
    return world.post(body, "application/x-www-form-urlencoded")


def registrations(world) -> list[dict]:
    with world.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(Registration.__table__))]


def events(world, type_: str) -> list[dict]:
    with world.engine.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(
                select(Event.__table__).where(
                    Event.type == type_, Event.object_key.like("registration:%")
                )
            )
        ]


def dms_to(world, user: str) -> list:
    channel = world.fake._dm_channel(user)
    return [c for c in world.fake.calls_to("chat.postMessage") if c.params["channel"] == channel]


def register_deal(world, user: str = REP_EN, **changes: str) -> dict:
    before = len(world.fake.calls_to("chat.postMessage"))
    response = submit(world, user, REGISTER_VIEW, {"kind": "deal"}, {**DEAL, **changes})
    assert response.status_code == 200 and response.text in ("", "null"), response.text
    world.fake.wait_for("chat.postMessage", count=before + 2)  # the rep's receipt, the card
    return registrations(world)[-1]


def test_register_opens_the_modal_for_reps_only(world):
    response, _ = world.command(REP_EN, "register deal")
    assert response.status_code == 200
    view = world.fake.wait_for("views.open")[0].params["view"]
    assert view["callback_id"] == REGISTER_VIEW
    assert {b.get("block_id") for b in view["blocks"]} >= {"company", "amount", "currency"}
    assert "Only partner reps" in words(world.answer(MANAGER, "register"))


def test_invalid_fields_come_back_on_the_fields_and_nothing_is_stored(world):
    response = submit(
        world,
        REP_EN,
        REGISTER_VIEW,
        {"kind": "deal"},
        {
            **DEAL,
            "email_domain": "not a domain",
            "amount": "-5",
            "expected_close": "2020-01-01",
            "company": "",
        },
    )
    body = response.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"company", "email_domain", "amount", "expected_close"}
    assert "acme.com" in body["errors"]["email_domain"]
    assert registrations(world) == [] and events(world, "deal.registered") == []


def test_a_deal_is_stored_with_its_event_and_sent_to_the_manager(world):
    reg = register_deal(world)
    assert reg["status"] == "pending" and reg["email_domain"] == "contoso.co.jp"
    (event,) = events(world, "deal.registered")
    assert event["object_key"] == f"registration:{reg['id']}" and event["occurred_at"] == AS_OF
    assert "Your deal is registered" in words(dms_to(world, REP_EN)[0].params)
    card = dms_to(world, MANAGER)[0].params
    assert "Contoso KK" in words(card) and "1,200,000 JPY" in words(card)
    actions = [
        e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert actions == [REG_APPROVE, REG_REJECT]
    assert "Possible conflict" not in words(card)


def test_a_lead_needs_no_approval(world):
    response = submit(
        world,
        REP_EN,
        REGISTER_VIEW,
        {"kind": "lead"},
        {"company": "Fabrikam", "email_domain": "fabrikam.com"},
    )
    assert response.status_code == 200
    world.fake.wait_for("chat.postMessage")
    assert registrations(world)[0]["status"] == "registered"
    assert len(events(world, "lead.registered")) == 1
    assert dms_to(world, MANAGER) == []


def test_the_same_customer_from_another_partner_is_flagged(world):
    register_deal(world, REP_OTHER, company="Contoso K.K.", email_domain="other.jp")
    register_deal(world, REP_EN)  # same normalised company name, within 90 days
    card = words(dms_to(world, MANAGER)[-1].params)
    assert "Possible conflict" in card and "Globex" in card


def test_approve_updates_the_card_and_tells_the_rep(world):
    reg = register_deal(world)
    assert press(world, MANAGER, REG_APPROVE, str(reg["id"])).status_code == 200
    update = world.fake.wait_for("chat.update")[0].params
    assert "Approved by <@UMGR1>" in words(update)
    assert not [b for b in update["blocks"] if b["type"] == "actions"]
    world.fake.wait_for("chat.postMessage", count=3)
    told = words(dms_to(world, REP_EN)[-1].params)
    assert "is approved" in told and "2027-01-30" in told  # 90 days after 2026-11-01
    assert registrations(world)[0]["status"] == "approved"
    assert len(events(world, "deal.approved")) == 1


def test_only_the_partners_manager_can_decide(world):
    reg = register_deal(world)
    for user in (CS, REP_EN):
        press(world, user, REG_APPROVE, str(reg["id"]))
    posts = world.fake.wait_for("response_url", count=2)
    assert all("belongs to someone else" in words(p.params) for p in posts)
    assert registrations(world)[0]["status"] == "pending"


def test_reject_asks_for_a_reason_then_tells_the_rep(world):
    reg = register_deal(world)
    press(world, MANAGER, REG_REJECT, str(reg["id"]))
    modal = world.fake.wait_for("views.open")[0].params["view"]
    assert modal["callback_id"] == REJECT_VIEW
    empty = submit(world, MANAGER, REJECT_VIEW, {"id": reg["id"]}, {"reason": ""}).json()
    assert empty["response_action"] == "errors" and "reason" in empty["errors"]
    submit(world, MANAGER, REJECT_VIEW, {"id": reg["id"]}, {"reason": "Already registered"})
    update = world.fake.wait_for("chat.update")[0].params
    assert "Rejected" in words(update) and "Already registered" in words(update)
    world.fake.wait_for("chat.postMessage", count=3)
    assert "Already registered" in words(dms_to(world, REP_EN)[-1].params)
    assert registrations(world)[0]["status"] == "rejected"
    assert len(events(world, "deal.rejected")) == 1


def test_the_rep_marks_the_deal_won(world):
    reg = register_deal(world)
    press(world, MANAGER, REG_APPROVE, str(reg["id"]))
    world.fake.wait_for("chat.update")
    press(world, REP_OTHER, REG_WON, str(reg["id"]))  # not theirs
    assert "someone else" in words(world.fake.wait_for("response_url")[0].params)
    press(world, REP_EN, REG_WON, str(reg["id"]))
    assert "marked as won" in words(world.fake.wait_for("response_url", count=2)[1].params)
    assert registrations(world)[0]["status"] == "won"
    (won,) = events(world, "deal.won")
    assert won["amount"] == 1200000


def test_approved_deals_expire_after_90_days_with_a_reminder_14_days_before(world):
    reg = register_deal(world)
    press(world, MANAGER, REG_APPROVE, str(reg["id"]))
    world.fake.wait_for("chat.update")
    client = job_client(world.settings)

    def run(days: int) -> dict:
        return run_job(
            "deal-expiry",
            world.settings,
            world.engine,
            AS_OF + timedelta(days=days),
            client=client,
            echo=lambda _: None,
        )

    assert run(75).get("sent", 0) == 0
    assert run(76)["sent"] == 1  # 14 days before expiry
    assert run(77).get("sent", 0) == 0  # once
    assert "expires on 2027-01-30" in words(dms_to(world, REP_EN)[-1].params)
    summary = run(90)
    assert summary["expired"] == 1 and summary["sent"] == 1
    assert "has expired" in words(dms_to(world, REP_EN)[-1].params)
    assert registrations(world)[0]["status"] == "expired"
    assert run(91).get("sent", 0) == 0
