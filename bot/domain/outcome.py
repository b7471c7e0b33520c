"""What a button press or a `/prm tips` command came to, shared by tips (bot.domain.tips)
and coaching alerts (bot.domain.alerts): the handlers word each outcome the same way
whichever button it was."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    DONE = "done"
    NOT_YOURS = "not_yours"
    NOT_A_REP = "not_a_rep"
    GONE = "gone"
