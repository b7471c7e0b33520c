"""Turns a question from one Slack user into the reply they may see. No Slack I/O here:
bot.slack.dispatch reads the text and hands the KPI questions (kpi, partner, me, content)
here; this decides access, asks the engine and renders the template.

Access is decided in `bot.domain.access` only; this module never widens the viewer's scope.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection

from bot.core import numbers
from bot.core.settings import Settings
from bot.domain import answers
from bot.domain.access import AccessDenied, PartnerNotFound, Role, Viewer, resolve_partner
from bot.domain.content import library, with_tracked_urls
from bot.domain.questions import Question
from bot.domain.worklist import listing as worklist_listing
from bot.domain.worklist import may_use as worklist_may_use
from bot.kpi import KpiParams
from bot.kpi.lookup import kpi_hint
from bot.kpi.params import params_from_settings
from bot.kpi.periods import Period
from bot.slack.blocks import Rendered
from bot.slack.ids import (
    HOME_PERIOD,
    HOME_PERIODS,
    NUDGE_REGISTER_DEAL,
    NUDGE_REGISTER_LEAD,
)
from bot.slack.messages import render_home, render_message
from bot.store.partners import partner_count


def params_for(settings: Settings, now: datetime, period: Period | None) -> KpiParams:
    question: dict[str, Any] = period.question(now) if period else {"as_of": now}
    return params_from_settings(settings, **question)


# The /prm forms answered here; the rest go through bot.slack.dispatch only.
ANSWERED = frozenset({"help", "kpi", "partner", "me", "content"})


def command_reply(
    conn: Connection,
    settings: Settings,
    now: datetime,
    viewer: Viewer,
    question: Question,
    locale: str,
) -> Rendered:
    if question.command not in ANSWERED:
        # `tips` and `register` have side effects or a modal: bot.slack.dispatch answers them.
        raise ValueError(f"/prm {question.command} is not a KPI question (use dispatch)")
    if question.command == "help":
        return help_reply(locale, question.unknown)
    if not viewer.sees_figures:
        return render_message(
            "refusal", locale, reason="stranger", partner_name=None, kpi_hint=None
        )
    if partner_count(conn) == 0:
        return render_message("bad_argument", locale, code="empty_store", word="")
    if question.period is not None and question.period.start and question.period.start > now:
        return render_message(
            "bad_argument", locale, code="future_period", word=question.period.text
        )
    params = params_for(settings, now, question.period)
    rep_view = viewer.partner_side
    money = partial(numbers.money, currency=settings.currency, locale=locale)

    if question.command == "content":
        return content_reply(conn, settings, viewer, locale)

    if question.command == "me":
        if viewer.rep is None:
            return render_message(
                "refusal", locale, reason="not_rep", partner_name=None, kpi_hint=None
            )
        card = answers.me_card(conn, params, _as_rep(viewer))
        return render_message("me", locale, me=card, params=params, money=money)

    partner = None
    if question.partner is not None:
        try:
            partner = resolve_partner(conn, viewer, question.partner)
        except AccessDenied:
            own = viewer.own_partner.name if viewer.own_partner else None
            return render_message(
                "refusal",
                locale,
                reason="other_partner",
                partner_name=own,
                kpi_hint=kpi_hint(question.partner),
            )
        except PartnerNotFound as exc:
            return render_message(
                "not_found",
                locale,
                text=exc.text,
                suggestions=[{"key": s.key, "name": s.name} for s in exc.suggestions],
                kpi_hint=kpi_hint(question.partner),
            )

    if question.command == "partner":
        assert partner is not None
        card = answers.partner_card(conn, params, viewer, partner)
        return render_message(
            "partner", locale, card=card, params=params, rep_view=rep_view, money=money
        )
    answer = answers.kpi_answer(conn, params, viewer, question.kpi, partner)
    return render_message(
        "kpi", locale, answer=answer, params=params, rep_view=rep_view, money=money
    )


def unavailable_home(locale: str) -> dict[str, Any]:
    """App Home while the database is away: the same words as a command's answer."""
    reply = render_message("unavailable", locale)
    return {"type": "home", "blocks": reply.blocks}


def help_reply(locale: str, unknown: str | None = None) -> Rendered:
    """The commands; needs nothing but the words (so it answers with the database away)."""
    return render_message("help", locale, unknown=unknown)


def home_view(
    conn: Connection,
    settings: Settings,
    now: datetime,
    viewer: Viewer,
    locale: str,
    period: Period | None = None,
) -> dict[str, Any]:
    params = params_for(settings, now, period)
    home: dict[str, Any] = {"role": "stranger"}
    if viewer.sees_figures:
        home = answers.home(conn, params, viewer)
    if viewer.role is Role.REP and viewer.rep is not None:
        home["reads"] = _next_reads(conn, settings, viewer.rep.key)
    if viewer.sees_figures and worklist_may_use(viewer):  # the worklist on top (/prm todo)
        home["todo"] = worklist_listing(conn, settings, now, viewer)
    return render_home(
        locale,
        home=home,
        params=params,
        period=period.text if period else HOME_PERIODS[0],
        periods=HOME_PERIODS,
        period_action=HOME_PERIOD,
        ids={"lead": NUDGE_REGISTER_LEAD, "deal": NUDGE_REGISTER_DEAL},
        money=partial(numbers.money, currency=settings.currency, locale=locale),
    )


def content_reply(conn: Connection, settings: Settings, viewer: Viewer, locale: str) -> Rendered:
    """`/prm content`: the library by journey stage. A rep's links are tracked (each open
    counts as their download); others see plain links, which count for nobody."""
    rep_key = viewer.rep.key if viewer.rep else None
    lib = library(conn, rep_key)
    if rep_key and settings.secret_key:
        lib = with_tracked_urls(lib, settings.public_url, settings.secret_key, rep_key)
    return render_message("content", locale, library=lib)


def _next_reads(conn: Connection, settings: Settings, rep_key: str, n: int = 3) -> list[dict]:
    """The first onboarding assets the rep has not opened yet, as tracked links."""
    lib = library(conn, rep_key)
    if settings.secret_key:
        lib = with_tracked_urls(lib, settings.public_url, settings.secret_key, rep_key)
    start = next((g for g in lib["groups"] if g["stage"] == "get_started"), None)
    return [a for a in (start["assets"] if start else []) if not a["downloaded"]][:n]


def oops(locale: str, ref: str) -> Rendered:
    return render_message("oops", locale, ref=ref)


def _as_rep(viewer: Viewer) -> Viewer:
    """`/prm me` speaks to the rep in whoever asks, even if they also manage partners."""
    return viewer if viewer.role is Role.REP else Viewer(viewer.slack_user_id, Role.REP, viewer.rep)
