"""The weekly scorecard opens with the manager's worklist and says what came of last
week's worklist actions ("you nudged 1; 1 moved forward")."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import worklist
from bot.domain.access import resolve_viewer
from bot.kpi.params import params_from_settings
from bot.slack.ids import WORKLIST_NUDGE
from tests.builders import Store
from tests.jobs.conftest import MANAGER_A, MANAGER_B
from tests.jobs.test_scorecards import MONDAY, cards_to
from tests.slack.payloads import words


def nudge(jobs, manager: str, partner: str, when) -> None:
    params = params_from_settings(jobs.settings, as_of=when)
    with jobs.engine.begin() as conn:
        viewer = resolve_viewer(conn, manager, jobs.settings.admins)
        outcome, _ = worklist.act(conn, params, viewer, partner, worklist.NUDGE, 14, 30)
    assert outcome is worklist.Outcome.DONE


def test_the_scorecard_says_what_came_of_last_weeks_nudges(jobs):
    nudge(jobs, MANAGER_A, "acme", MONDAY - timedelta(days=4))
    nudge(jobs, MANAGER_A, "globex", MONDAY - timedelta(days=4))
    # acme's Tokyo rep downloads the guide: acme reaches a later step; globex does not.
    Store(jobs.engine).event(
        "content.downloaded", "2026-10-30T09:00:00Z", "acme", "acme-tokyo", "guide"
    )
    jobs.run("weekly-scorecards", MONDAY)
    (card,) = cards_to(jobs, MANAGER_A)
    text = words(card.params)
    assert "Last week you nudged 2 partners from your worklist; 1 moved forward since." in text


def test_the_scorecard_lists_the_worklist_with_its_buttons_in_japanese(jobs):
    jobs.run("weekly-scorecards", MONDAY)
    (card,) = cards_to(jobs, MANAGER_B)  # reads ja-JP; initech is stuck and not activated
    text = words(card.params)
    assert "*対応リスト*" in text and "*Initech KK* — 「PRM登録」で" in text
    buttons = [e for b in card.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (WORKLIST_NUDGE, "initech") in {(e["action_id"], e.get("value")) for e in buttons}
    nudge(jobs, MANAGER_B, "initech", MONDAY + timedelta(days=1))
    jobs.run("weekly-scorecards", MONDAY + timedelta(days=7))
    text = words(cards_to(jobs, MANAGER_B)[1].params)
    assert (
        "先週、対応リストから1社に働きかけました。そのうち0社が次のステップに進みました。" in text
    )


def test_the_worklist_comes_first_then_what_changed_in_both_languages(jobs):
    jobs.run("weekly-scorecards", MONDAY)
    ja = words(cards_to(jobs, MANAGER_B)[0].params)
    assert ja.index("*対応リスト*") < ja.index("*今週の変化*") < ja.index("*直近8週間の推移*")
    nudge(jobs, MANAGER_A, "acme", MONDAY + timedelta(days=1))
    jobs.run("weekly-scorecards", MONDAY + timedelta(days=7))
    en = words(cards_to(jobs, MANAGER_A)[-1].params)
    assert en.index("Last week you nudged") < en.index("*What changed*")
    assert en.index("*What changed*") < en.index("*Last 8 weeks*")
