"""The scorecard's tier check (issue 13 item 3): partners whose qualifying tier differs
from the assigned one get Promote / Keep buttons; a decision is taken once, by the
partner's manager or an admin, records `tier.changed`, and a replay changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.events import TIER_CHANGED
from bot.domain.scorecard import scorecard
from bot.kpi.params import KpiParams
from bot.slack.ids import TIER_KEEP, TIER_PROMOTE
from bot.slack.messages import render_message
from bot.store.tables import Event, Partner, TierDecision
from tests.slack.conftest import ADMIN, AS_OF, MANAGER, MANAGER_2


def card(world) -> dict:
    with world.engine.connect() as conn:
        found = scorecard(conn, KpiParams.build(as_of=AS_OF), MANAGER)
    assert found is not None
    return found


def acme_item(world) -> dict | None:
    return next((d for d in card(world)["tier_drift"]["items"] if d["key"] == "acme"), None)


def tier_of(world, key: str = "acme") -> str | None:
    with world.engine.connect() as conn:
        return conn.execute(select(Partner.tier).where(Partner.key == key)).scalar()


def changes(world) -> list[tuple[str | None]]:
    with world.engine.connect() as conn:
        return conn.execute(select(Event.object_key).where(Event.type == TIER_CHANGED)).all()


def press(world, user: str, action_id: str, value: str) -> None:
    assert world.action(user, action_id, value).status_code == 200
    world.fake.wait_for("views.open", 0)  # the listener works after its ack


def test_a_partner_off_its_tier_gets_buttons_on_the_scorecard(world):
    item = acme_item(world)  # assigned gold, qualifies for less (no certified rep)
    assert item is not None and item["assigned"] == "gold" and item["direction"] == "down"
    message = render_message(
        "scorecard",
        "en",
        card=card(world),
        params=KpiParams.build(as_of=AS_OF),
        todo_money=lambda amount: f"${amount}",
    )
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    ids = [e["action_id"] for e in buttons if e["value"] == item["value"]]
    assert ids == [TIER_PROMOTE, TIER_KEEP]
    assert "Acme Corp" in message.text and "Keep gold" in str(buttons)
    ja = render_message(
        "scorecard",
        "ja",
        card=card(world),
        params=KpiParams.build(as_of=AS_OF),
        todo_money=lambda amount: f"${amount}",
    )
    assert "ランクの見直し" in ja.text and "ゴールドのまま据え置く" in str(ja.blocks)


def test_a_move_is_taken_once_and_a_replay_changes_nothing(world):
    item = acme_item(world)
    assert item is not None
    press(world, MANAGER_2, TIER_PROMOTE, item["value"])  # not their partner
    assert tier_of(world) == "gold" and changes(world) == []
    press(world, MANAGER, TIER_PROMOTE, item["value"])
    assert tier_of(world) == item["qualifies"]
    assert changes(world) == [(item["qualifies"],)]
    tier_of_before = tier_of(world)
    world.engine.dispose()
    for user in (MANAGER, ADMIN):  # a replay, or an admin pressing it again
        press(world, user, TIER_PROMOTE, item["value"])
        press(world, user, TIER_KEEP, item["value"])
    assert tier_of(world) == tier_of_before and len(changes(world)) == 1
    assert acme_item(world) is None  # it now holds the tier it qualifies for


def test_keep_leaves_the_tier_and_is_not_asked_again(world):
    item = acme_item(world)
    assert item is not None
    press(world, ADMIN, TIER_KEEP, item["value"])
    assert tier_of(world) == "gold" and changes(world) == []
    with world.engine.connect() as conn:
        (decision,) = conn.execute(select(TierDecision.decision)).all()
    assert decision == ("keep",)
    assert acme_item(world) is None


def test_a_garbled_press_changes_nothing(world):
    press(world, MANAGER, TIER_PROMOTE, "not json")
    press(world, MANAGER, TIER_PROMOTE, '{"p":"nope","f":"gold","t":"silver","w":"2026-W44"}')
    assert tier_of(world) == "gold" and changes(world) == []
