"""The next-action decision for one rep, in one place: the scheduled job
(bot.jobs.next_actions) and the worklist's "Nudge now" (bot.slack.nudges) both ask here
whether a rep is owed a nudge and which one, with the same fatigue rules.

Timing (the rep's local hour, quiet hours) and the holdout are decided by the callers
with bot.domain.nudges.fatigue, since they need the rep's Slack time zone first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.nudges import facts as facts_mod
from bot.domain.nudges.fatigue import capped, paused
from bot.domain.nudges.rules import RepFacts, Rule, choose
from bot.store import ledger


@dataclass(frozen=True)
class Decision:
    """A rule to send, or why not (`skip`: a counter name such as "skipped:capped")."""

    rule: Rule | None
    skip: str | None = None


def decide(
    rep: facts_mod.Rep,
    f: RepFacts,
    past: list[facts_mod.PastNudge],
    rules: tuple[Rule, ...],
    now: datetime,
    cap_days: int,
    stop_after: int,
) -> Decision:
    """The rep's one next action, or the fatigue rule that holds it back."""
    if rep.tips_off:
        return Decision(None, "skipped:opted_out")
    rule = choose(rules, f, now)
    if rule is None:
        return Decision(None, "skipped:nothing_to_do")
    if capped(past[0].at if past else None, now, cap_days):
        return Decision(None, "skipped:capped")
    sent = [(n.at, facts_mod.progressed(f, n)) for n in past if n.status == ledger.SENT]
    if paused(sent, stop_after):
        return Decision(None, "skipped:no_progress")
    return Decision(rule)
