"""`/prm` in a partner's shared channel: the vendor's people get their own answer (only they
see it), headed by who else is in that channel; the partner's people get theirs, plain."""

from __future__ import annotations

from sqlalchemy import update

from bot.store.tables import Partner
from tests.slack.conftest import MANAGER, REP_EN
from tests.slack.payloads import words

NOTE = "Only you can see this answer. This channel is shared with Acme Corp"


def _answer(world, user: str, channel: str) -> tuple[str, dict]:
    response, url = world.command(user, "kpi", channel_id=channel)
    assert response.status_code == 200
    calls = world.fake.wait_for("response_url")
    (mine,) = [c for c in calls if c.url.endswith(url.rsplit("/", 1)[-1])]
    return words(mine.params), mine.params


def _acme_channel(world) -> None:
    with world.engine.begin() as conn:
        conn.execute(update(Partner).where(Partner.key == "acme").values(slack_channel_id="CACME"))


def test_a_manager_in_a_partner_channel_is_reminded_who_is_in_there(world):
    _acme_channel(world)
    text, params = _answer(world, MANAGER, "CACME")
    assert NOTE in text, text[:300]
    assert "Your partners" in text  # the manager's own scope, shown to them alone
    assert params.get("response_type", "ephemeral") == "ephemeral"


def test_no_note_elsewhere_nor_for_the_partners_own_rep(world):
    _acme_channel(world)
    assert NOTE not in _answer(world, MANAGER, "C0001")[0]
    world.fake.calls.clear()
    assert NOTE not in _answer(world, REP_EN, "CACME")[0]
