"""Reads the text after `/prm` into a question. Pure: no database, no Slack (the text
arrives as people typed it; undoing Slack's `&lt;`/`&gt;`/`&amp;` is bot.slack.dispatch's job).

    kpi [funnel|content|deals|reps|retention] [PARTNER] [PERIOD]
    partner NAME [PERIOD]
    me [PERIOD]
    tips on|off
    register [lead|deal]
    todo
    help

Words are matched case-insensitively; a PARTNER may have spaces ("Acme Japan"); PERIOD
may stand anywhere after the subcommand. Anything else is help, never an error page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.kpi import KPI_NAMES
from bot.kpi.periods import Period, PeriodError, looks_like_period, parse_period

# Control characters (NUL included) are never part of a word people mean to type.
CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
SUBCOMMANDS = ("kpi", "partner", "me", "tips", "register", "content", "todo", "help")


@dataclass(frozen=True)
class Question:
    command: str
    kpi: str | None = None
    partner: str | None = None
    period: Period | None = None
    unknown: str | None = None  # the word we did not understand (help says so)
    switch: str | None = None  # tips on|off; register lead|deal


class ParseError(ValueError):
    """A precise complaint about one argument: `code` picks the message, `word` fills it."""

    def __init__(self, code: str, word: str = ""):
        super().__init__(f"{code}: {word}")
        self.code = code
        self.word = word


def parse(text: str, tz: ZoneInfo) -> Question:
    words = CONTROLS.sub(" ", text or "").split()
    if not words:
        return Question("help")
    sub, args = words[0].lower(), words[1:]
    if sub not in SUBCOMMANDS:
        return Question("help", unknown=words[0])
    if sub == "help":
        return Question("help")
    if sub == "register":
        what = args[0].lower() if args else "lead"
        if len(args) > 1 or what not in ("lead", "deal"):
            raise ParseError("register_kind", " ".join(args))
        return Question("register", switch=what)
    if sub == "content":
        return Question("content")
    if sub == "todo":
        return Question("todo") if not args else Question("help", unknown=" ".join(args))
    if sub == "tips":
        switch = args[0].lower() if len(args) == 1 else ""
        if switch not in ("on", "off"):
            raise ParseError("tips_switch", " ".join(args))
        return Question("tips", switch=switch)

    kpi = None
    if sub == "kpi" and args and args[0].lower() in (*KPI_NAMES, "all"):
        kpi = None if args[0].lower() == "all" else args[0].lower()
        args = args[1:]
    period, rest = _period(args, tz)
    partner = " ".join(rest) or None
    if sub == "partner" and partner is None:
        raise ParseError("partner_missing")
    if sub == "me" and partner is not None:
        return Question("help", unknown=partner)
    return Question(sub, kpi=kpi, partner=partner, period=period)


def _period(args: list[str], tz: ZoneInfo) -> tuple[Period | None, list[str]]:
    period: Period | None = None
    rest: list[str] = []
    for word in args:
        if looks_like_period(word):
            if period is not None:
                raise ParseError("two_periods", word)
            try:
                period = parse_period(word, tz)
            except PeriodError as exc:
                raise ParseError("bad_period", word) from exc
        else:
            rest.append(word)
    return period, rest
