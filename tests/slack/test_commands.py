"""`/prm` through the real HTTP app: figures, access, help and language."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core import numbers
from bot.kpi import Scope, build_report
from bot.kpi.params import params_from_settings
from tests.slack.conftest import (
    ADMIN,
    AS_OF,
    CS,
    MANAGER,
    MANAGER_2,
    REP_EN,
    REP_JA,
    REP_OTHER,
    STRANGER,
)
from tests.slack.payloads import japanese_share, words


def engine_report(world, scope: Scope) -> dict:
    params = replace(params_from_settings(world.settings, as_of=AS_OF), scope=scope)
    with world.engine.connect() as conn:
        return build_report(conn, params)


def assert_figures(text: str, report: dict) -> None:
    """The answer shows the engine's own figures, formatted as the spec says."""
    deals, funnel = report["deals"], report["funnel"]
    assert f"{numbers.count(report['cohort_size'])} partner" in text
    assert f"{numbers.count(deals['registered'])} deal" in text
    if report["cohort_size"] == 1:
        # One partner: its journey as a checklist, "activated" and per-window yes/no, not
        # rates of 0 % and 100 % over one partner (issue 11 item 7).
        for step in funnel["steps"]:
            assert f"{'✅' if step['reached'] else '⬜'} " in text
        assert ("· activated" if deals["activated"] else "not activated yet") in text
        for window in report["retention"]["windows"]:
            assert f"{window['months']} months: " in text
            assert f"{window['months']} months: {numbers.pct(window['rate'])}" not in text
    else:
        assert f"{numbers.count(deals['activated'])} partner" in text
        assert f"({numbers.pct(deals['activation_rate'])})" in text
        for step in funnel["steps"][1:]:
            assert f"{numbers.count(step['reached'])} · {numbers.pct(step['step_rate'])}" in text
        for window in report["retention"]["windows"]:
            assert f"{window['months']} months: {numbers.pct(window['rate'])}" in text
    reps = report["reps"]
    assert f"{numbers.number(reps['per_rep_leads'])} leads and" in text


def test_manager_gets_their_book_with_the_engines_figures_fast(world):
    answer = world.answer(MANAGER, "kpi")
    assert world.last_seconds < 3
    assert answer["response_type"] == "ephemeral"
    assert answer["text"]  # plain-text fallback
    text = words(answer)
    assert_figures(text, engine_report(world, Scope(member_slack_id=MANAGER)))
    assert "2 partners" in text  # acme and globex; not initech or umbrella
    assert "Initech" not in text and "Umbrella" not in text


def test_cs_sees_the_partners_they_look_after(world):
    text = words(world.answer(CS, "kpi"))
    assert_figures(text, engine_report(world, Scope(member_slack_id=CS)))
    assert "Globex" not in text


def test_admin_sees_the_whole_program(world):
    text = words(world.answer(ADMIN, "kpi"))
    assert_figures(text, engine_report(world, Scope()))
    assert "4 partners" in text


def test_manager_asks_for_one_partner_and_period(world):
    text = words(world.answer(MANAGER, "kpi deals Globex 2026-Q3"))
    assert "Globex" in text
    assert "1 deal registered" in text  # the 2026-09-10 deal, in Q3
    assert "2026-07-01 → 2026-10-01" in text


def test_a_partner_outside_the_book_is_not_found_and_not_suggested(world):
    text = words(world.answer(MANAGER, "kpi initech"))
    assert "can't find a partner called “initech” among your partners" in text
    assert "Initech" not in text  # its existence does not leak
    text = words(world.answer(MANAGER, "kpi acm"))
    assert "Acme Corp" in text and "`acme`" in text  # closest match, from the book


def test_rep_sees_only_their_own_partner_and_own_numbers(world):
    text = words(world.answer(REP_EN, "kpi"))
    assert_figures(text, engine_report(world, Scope(partner_key="acme")))
    assert "1 partner" in text
    assert "Your own: 12 leads, 5 deals, conversion 41.7 %" in text
    assert "acme-kenji" not in text and "健二" not in text  # a colleague's figures


def test_rep_asking_for_another_partner_by_name_is_refused(world):
    for query in ("kpi Globex", "kpi globex", "partner Globex", "kpi deals globex 30d"):
        answer = world.answer(REP_EN, query)
        text = words(answer)
        assert "only your own partner" in text, query
        assert "Globex" not in text and "%" not in text, query


def test_stranger_gets_a_polite_refusal_and_no_figures(world):
    for query in ("kpi", "partner acme", "me", "kpi funnel"):
        text = words(world.answer(STRANGER, query))
        assert "Sorry" in text
        assert "%" not in text and "Acme" not in text
        assert not any(ch.isdigit() for ch in text), text


@pytest.mark.parametrize("text", ["wat", "", "help", "KPIs please"])
def test_unknown_subcommand_gets_help(world, text):
    answer = words(world.answer(MANAGER, text))
    assert "/prm kpi" in answer and "/prm partner" in answer and "/prm me" in answer
    if text == "wat":
        assert "I don't know `wat`" in answer


def test_bad_period_gets_a_precise_message(world):
    text = words(world.answer(MANAGER, "kpi 2026-13"))
    assert "“2026-13” is not a period" in text


def test_japanese_rep_gets_japanese(world):
    answer = world.answer(REP_JA, "kpi")
    text = words(answer)
    assert japanese_share(text) > 0.5
    assert "案件登録" in text and "継続利用率" in text
    me = words(world.answer(REP_JA, "me"))
    assert "あなたのジャーニー" in me and "次のステップ" in me


def test_stored_locale_wins_over_slack(world):
    # REP_EN's Slack says ja-JP, but the stored locale is en.
    assert "Your partner" in words(world.answer(REP_EN, "kpi"))


def test_slack_locale_is_used_when_none_is_stored(world):
    text = words(world.answer(MANAGER_2, "kpi"))  # Slack: ja-JP
    assert "担当パートナー" in text
    call = world.fake.calls_to("users.info")[-1]
    assert call.params["user"] == MANAGER_2
    assert str(call.params["include_locale"]).lower() in ("true", "1")


def test_slack_error_on_users_info_falls_back_to_default_locale(world):
    world.fake.fail_next("users.info", "user_not_found")
    assert "Your partners" in words(world.answer(MANAGER, "kpi"))


def test_rate_limited_users_info_is_retried(world):
    world.fake.rate_limit_next("users.info", retry_after=0)
    text = words(world.answer(MANAGER_2, "kpi"))
    assert "担当パートナー" in text
    assert len(world.fake.calls_to("users.info")) == 2


def test_partner_card_shows_journey_kpis_and_reps(world):
    text = words(world.answer(MANAGER, "partner Acme Corp"))
    assert "Acme Corp" in text and "`acme` · tier gold" in text
    assert "✅ Signed" in text and "✅ Registered a deal" in text and "⬜ Won a deal" in text
    assert "next: *Won a deal*" in text
    assert "Alice: 12 leads, 5 deals, 41.7 %" in text  # by name (issue 11), never a bare key
    assert "`acme-alice`" not in text


def test_me_shows_the_reps_own_journey_and_next_step(world):
    text = words(world.answer(REP_EN, "me"))
    assert "Alice · Acme Corp" in text
    assert "⬜ Logged in" in text  # Alice herself never logged in
    assert "*Next step: Logged in*" in text
    assert "12 leads · 5 deals · conversion 41.7 %" in text


def test_me_for_a_manager_explains(world):
    assert "is for partner reps" in words(world.answer(MANAGER, "me"))


def test_rep_of_another_partner_sees_theirs(world):
    text = words(world.answer(REP_OTHER, "kpi"))
    assert "Acme" not in text and "12 leads" not in text
    assert "1 partner" in text


def test_a_dead_response_url_falls_back_to_an_ephemeral_message(world):
    from urllib.parse import urlencode

    dead = world.fake.response_url().rsplit("/", 1)[0] + "/expired"
    form = {
        "command": "/prm",
        "text": "kpi",
        "user_id": MANAGER,
        "team_id": "T0001",
        "response_url": dead,
        "trigger_id": "1.2.3",
        "channel_id": "C0001",
    }
    response = world.post(urlencode(form), "application/x-www-form-urlencoded")
    assert response.status_code == 200
    call = world.fake.wait_for("chat.postEphemeral")[0]
    assert call.params["user"] == MANAGER and call.params["channel"] == "C0001"
    assert "2 partners" in words(call.params)


@pytest.mark.parametrize("word", ["2026-Q5", "30x", "1y", "2026/10", "Q3", "99999999d"])
def test_period_shaped_words_get_the_period_message(world, word):
    text = words(world.answer(MANAGER, f"kpi {word}"))
    assert "is not a period" in text or "too long" in text, text
    assert "can't find a partner" not in text


def test_a_period_that_has_not_started(world):
    assert "has not started yet" in words(world.answer(MANAGER, "kpi 2027-Q1"))


def test_a_rep_mistyping_a_kpi_gets_the_hint(world):
    assert "Did you mean the KPI `funnel`" in words(world.answer(REP_EN, "kpi funel"))


def test_names_are_escaped_in_the_fallback_text_too(world):
    from sqlalchemy import update

    from bot.store.tables import Partner

    with world.engine.begin() as conn:
        conn.execute(update(Partner).where(Partner.key == "acme").values(name="<!channel> & co"))
    answer = world.answer(MANAGER, "partner acme")
    assert "<!channel>" not in answer["text"] and "&lt;!channel&gt; &amp; co" in answer["text"]
