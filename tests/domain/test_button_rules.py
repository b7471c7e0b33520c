"""Who may press the tips and coaching-alert buttons, as pure rules (no database)."""

from __future__ import annotations

import pytest

from bot.domain.alerts import episode_id_of, may_answer
from bot.domain.tips import may_stop_tips

ADMINS = frozenset({"UADMIN"})


@pytest.mark.parametrize(
    ("presser", "rep_slack", "colleague", "allowed"),
    [
        ("UREP", "UREP", False, True),  # the rep's own DM
        ("UOTHER", "UREP", True, False),  # a rep with Slack: only they may
        ("UADMIN", "UREP", False, True),
        ("UCOLL", None, True, True),  # shared channel: any rep of the partner
        ("USTRANGER", None, False, False),
        ("UADMIN", None, False, True),
    ],
)
def test_who_may_stop_a_reps_tips(presser, rep_slack, colleague, allowed):
    assert may_stop_tips(presser, rep_slack, ADMINS, colleague) is allowed


@pytest.mark.parametrize(
    ("presser", "allowed"), [("UCS", True), ("UADMIN", True), ("UOTHER", False)]
)
def test_only_the_cs_owner_or_an_admin_answers_an_alert(presser, allowed):
    assert may_answer(presser, "UCS", ADMINS) is allowed


@pytest.mark.parametrize(
    ("value", "expected"),
    [("42", 42), ("0", 0), ("", None), ("-1", None), ("4 2", None), ("٤٢", None), ("1" * 19, None)],
)
def test_an_episode_id_is_up_to_eighteen_ascii_digits(value, expected):
    assert episode_id_of(value) == expected
