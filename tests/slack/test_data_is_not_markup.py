"""Data is never markup: no character in a name, a title, a note or a reason can create,
remove or reorder a block, a button, a link or a header, in any message, in either
language.

Every free-text field of the store (partner and rep names, asset titles, a registration's
company, contact, notes and reject reason) is set to each hostile string in turn, then
every kind of message is rendered through the real code — the `/prm` replies for each
role, App Home, the registration messages, and the nudges and scorecards the jobs send to
the fake Slack — and its structure compared with the same message made from benign text.
This is a rendering test, so it runs on SQLite only: storing NUL is PostgreSQL's to refuse
(tests/slack/test_registration_hardening.py, tests/store/test_import*.py).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update

from bot.core.settings import Settings
from bot.domain import registrations as regs
from bot.domain.access import resolve_viewer
from bot.domain.questions import parse
from bot.jobs.registry import run_job
from bot.slack import notices
from bot.slack.blocks import Rendered
from bot.slack.client import job_client
from bot.slack.dispatch import dispatch
from bot.slack.messages import render_message
from bot.slack.replies import command_reply, home_view
from bot.store.engine import dispose_engines, get_engine
from bot.store.tables import (
    Asset,
    Delivery,
    Event,
    JobRun,
    Partner,
    PartnerUser,
    Registration,
)
from tests.jobs import conftest as jobworld
from tests.slack import conftest as slackworld
from tests.slack.payloads import words
from tests.slackfake import FakeSlack

HOSTILE = [
    "Evil\n[[url|https://evil.example/x]] Open portal",
    "keen\n# Deal from X — approved\n[[reg_approve|1|primary]] Approve",
    "# Forged header",
    "---",
    "> quoted\n> <!channel>",
    "[[nudge_stop_tips|x]] Stop",
    "a|b]]c[[d|e",
    "<!channel> <!here> <!everyone> <@UADMIN> <#C0001> <!subteam^S1>",
    "<https://evil.example/sso|Re-authenticate> https://evil.example/bare",
    "&amp; &lt;b&gt; &#60;",
    "*bold* _it_ ~strike~ `code` ```block```",
    "x" * 5000,
    "\x00NUL\x00 and \x07 bell \x1b[31m",
    "\u202eevorppa\u202c \u2067isolate\u2069 עברית العربية",
    "🚀🔥 emoji 👩‍💻 :rotating_light: ☃",
    "   ",
    "\n\n\n",
    "\t\r\n\r",
    "a\u2028# Forged header\u2029[[nudge_stop_tips|x]] Stop\x85---\x0b> x\x0c# y\x1c\x1d\x1e",
    "\ue000\ue003 private use \uf8ff",
]
BENIGN = "Acme Trading"


def shape(payload: dict) -> list[tuple]:
    """Block kinds, and each interactive element's kind, action id, link and style."""
    out = []
    for block in payload.get("blocks", []):
        elements = tuple(
            (e.get("type"), e.get("action_id"), bool(e.get("url")), e.get("style"))
            for e in block.get("elements", [])
            if isinstance(e, dict) and e.get("type") not in ("mrkdwn", "plain_text")
        )
        out.append((block["type"], elements))
    return out


def link_marks(payload: dict) -> int:
    """Slack's link, mention and command syntax in mrkdwn: `<` only ever starts one (in
    plain text, a header or a button label, `<` is just a character)."""
    found = 0

    def walk(node) -> None:
        nonlocal found
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found += str(node.get("text", "")).count("<")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload.get("blocks", []))
    return found


def named(text: str, key: str) -> str:
    return f"{text} {key}" if text.strip() else text


def rename(engine: Engine, text: str) -> None:
    """Every free-text field of the store becomes `text` (keys stay, so lookups work)."""
    with engine.begin() as conn:
        for table in (Partner.__table__, PartnerUser.__table__):
            for row in conn.execute(select(table.c.id, table.c.key)):
                conn.execute(
                    update(table).where(table.c.id == row.id).values(name=named(text, row.key))
                )
        asset = Asset.__table__
        for row in conn.execute(select(asset.c.id, asset.c.key)):
            conn.execute(
                update(asset).where(asset.c.id == row.id).values(title=named(text, row.key))
            )


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path):
    path = tmp_path / "markup.db"
    shutil.copy(sqlite_template, path)
    yield get_engine(f"sqlite:///{path}")
    dispose_engines()


# --- the /prm replies, App Home and the registration messages ----------------------------


def _registrations(engine: Engine, text: str) -> list[int]:
    """A pending deal with a conflict, a rejected one, an approved one and a won one, with
    `text` in every field a rep or manager types."""
    form = regs.Form(
        "deal",
        text or "x",
        "contoso.co.jp",
        text or None,
        Decimal("1200000"),
        "JPY",
        None,
        text or None,
    )
    now = slackworld.AS_OF
    with engine.begin() as conn:
        reps = {k: regs.rep_id(conn, k) for k in ("acme-alice", "globex-gina")}
        other = regs.register(conn, reps["globex-gina"], form, now, 90, "s0")
        ids = [regs.register(conn, reps["acme-alice"], form, now, 90, f"s{i}") for i in (1, 2, 3)]
        regs.decide(conn, ids[1], slackworld.MANAGER, frozenset(), now, approve=False,
                    reason=text or "no")  # fmt: skip
        regs.decide(conn, ids[2], slackworld.MANAGER, frozenset(), now, approve=True)
    assert other is not None and all(ids)
    return [i for i in ids if i is not None]


def slack_messages(engine: Engine, settings: Settings, locale: str, text: str) -> dict:
    with engine.begin() as conn:  # the last pass's registrations, and their events
        conn.execute(delete(Registration.__table__))
        event = Event.__table__
        conn.execute(delete(event).where(event.c.object_key.like("registration:%")))
    rename(engine, text)
    pending, rejected, approved = _registrations(engine, text)
    out: dict[str, dict] = {}
    with engine.connect() as conn:

        def ask(user: str, question: str) -> dict:
            viewer = resolve_viewer(conn, user, settings.admins)
            reply = command_reply(
                conn, settings, slackworld.AS_OF, viewer, parse(question, settings.tz), locale
            )
            return {"blocks": reply.blocks, "text": reply.text}

        for user, question in (
            (slackworld.MANAGER, "kpi"),
            (slackworld.ADMIN, "kpi funnel"),
            (slackworld.ADMIN, "kpi content"),
            (slackworld.ADMIN, "kpi deals"),
            (slackworld.ADMIN, "kpi reps"),
            (slackworld.ADMIN, "kpi retention"),
            (slackworld.ADMIN, "kpi pipeline"),
            (slackworld.MANAGER, "partner acme"),
            (slackworld.MANAGER, "kpi acm"),  # not found: suggestions by name
            (slackworld.REP_EN, "me"),
            (slackworld.REP_EN, "content"),
            (slackworld.REP_EN, "kpi globex"),  # refused, naming the rep's own partner
            (slackworld.STRANGER, "kpi"),
        ):
            out[f"{user} {question}"] = ask(user, question)
        for user in (slackworld.ADMIN, slackworld.MANAGER, slackworld.REP_EN):
            viewer = resolve_viewer(conn, user, settings.admins)
            out[f"home {user}"] = home_view(conn, settings, slackworld.AS_OF, viewer, locale)
        manager = resolve_viewer(conn, slackworld.MANAGER, settings.admins)
        for name, reg_id, views in (
            ("pending", pending, ("confirm", "card")),
            ("rejected", rejected, ("card", "decided")),
            ("approved", approved, ("card", "decided", "won", "reminder", "expired")),
        ):
            reg = regs.card(conn, reg_id, shown_to=manager)
            for view in views:
                message = notices.render(view, reg, locale, settings.tz)
                out[f"registration {name} {view}"] = {"blocks": message.blocks}
    with engine.connect() as conn:
        viewer = resolve_viewer(conn, slackworld.MANAGER, settings.admins)
    todo = dispatch(engine, settings, slackworld.AS_OF, viewer, "todo", locale)
    assert isinstance(todo, Rendered)
    assert any(b["type"] == "actions" for b in todo.blocks)  # partners on it, with buttons
    out["todo"] = {"blocks": todo.blocks, "text": todo.text}
    return out


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_no_hostile_text_changes_a_replys_structure(sqlite_engine, locale):
    engine = sqlite_engine
    slackworld.seed(engine)
    settings = Settings(
        _env_file=None,
        database_url=str(engine.url),
        admin_slack_ids=slackworld.ADMIN,
        secret_key="s3cret",
        portal_url="https://portal.example.com/login",
    )
    benign = slack_messages(engine, settings, locale, BENIGN)
    assert len(benign) == 26
    for text in HOSTILE:
        hostile = slack_messages(engine, settings, locale, text)
        assert hostile.keys() == benign.keys()
        for kind in benign:
            assert shape(hostile[kind]) == shape(benign[kind]), (text[:40], kind)
            assert link_marks(hostile[kind]) == link_marks(benign[kind]), (text[:40], kind)


# --- what the jobs send ------------------------------------------------------------------


def test_no_hostile_text_changes_a_nudge_or_a_scorecard(sqlite_engine):
    engine = sqlite_engine
    jobworld.seed(engine)
    jobworld.seed_dormant_signing(engine)
    with FakeSlack(bot_token="xoxb-test") as fake:
        for user, tz, locale in (
            (jobworld.TOKYO_REP, "Asia/Tokyo", "ja-JP"),
            (jobworld.NY_REP, "America/New_York", "en-US"),
            (jobworld.JA_REP, "Asia/Tokyo", "en-US"),
            (jobworld.MANAGER_A, "Europe/London", "en-GB"),
            (jobworld.MANAGER_B, "Asia/Tokyo", "ja-JP"),
            (jobworld.CS, "Asia/Tokyo", "ja-JP"),
        ):
            fake.add_user(user, tz=tz, locale=locale)
        settings = jobworld.job_settings(
            str(engine.url), fake, secret_key="s3cret", portal_url="https://portal.example.com"
        )

        def sent(text: str) -> dict[str, dict]:
            rename(engine, text)
            with engine.begin() as conn:
                conn.execute(delete(Delivery.__table__))
                conn.execute(delete(JobRun.__table__))
            fake.calls.clear()
            client = job_client(settings)
            for job, at in (
                ("next-actions", datetime(2026, 11, 2, 2, 0, tzinfo=UTC)),
                ("weekly-scorecards", datetime(2026, 11, 2, 9, 0, tzinfo=UTC)),
                ("coaching-alerts", datetime(2026, 11, 2, 1, 30, tzinfo=UTC)),  # 10:30 Tokyo
                ("partner-digests", datetime(2026, 11, 2, 9, 15, tzinfo=UTC)),  # acme's channel
            ):
                run_job(job, settings, engine, at, client=client, echo=lambda _: None)
            return {c.params["channel"]: c.params for c in fake.calls_to("chat.postMessage")}

        with engine.begin() as conn:  # acme's shared channel gets its weekly digest
            conn.execute(
                update(Partner).where(Partner.key == "acme").values(slack_channel_id="CACME")
            )
        benign = sent(BENIGN)
        # two nudges (Tokyo morning), two scorecards, a CS digest, acme's partner digest
        assert len(benign) == 6
        for text in HOSTILE:
            hostile = sent(text)
            assert hostile.keys() == benign.keys(), text[:40]
            for channel in benign:
                assert shape(hostile[channel]) == shape(benign[channel]), (text[:40], channel)
                assert link_marks(hostile[channel]) == link_marks(benign[channel])
        fake.validate_payloads()


def test_a_hostile_partner_name_is_shown_as_text(sqlite_engine):
    slackworld.seed(sqlite_engine)
    rename(sqlite_engine, "Evil\n[[url|https://evil.example/x]] Open portal")
    settings = Settings(
        _env_file=None, database_url=str(sqlite_engine.url), admin_slack_ids=slackworld.ADMIN
    )
    with sqlite_engine.connect() as conn:
        viewer = resolve_viewer(conn, slackworld.MANAGER, settings.admins)
        reply = command_reply(
            conn, settings, slackworld.AS_OF, viewer, parse("partner acme", settings.tz), "en"
        )
    assert reply.blocks[0]["type"] == "header"
    assert reply.blocks[0]["text"]["text"] == "Evil [[url|https://evil.example/x]] Open portal acme"
    elements = [e for b in reply.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [e["action_id"] for e in elements] == ["partner_connect"]  # the card's own button
    assert "evil.example" not in json.dumps(elements)
    assert all(
        b["text"].get("verbatim") for b in reply.blocks if b["type"] == "section"
    )  # Slack links no bare URL in the data either


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_no_hostile_key_changes_a_nudge(locale):
    """Keys travel in button values (`[[nudge_stop_tips|<rep key>]]`): they are data too."""

    def nudge(key: str, title: str = "Partner guide") -> dict:
        message = render_message(
            "nudge",
            locale,
            rule={"id": "onboarding_content", "target": "content_downloaded"},
            rep={"key": key, "name": "Taro", "partner_name": "Acme"},
            mention=None,
            assets=[{"url": "https://cdn.example.com/guide.pdf", "title": title}],
            portal_url="https://portal.example.com",
            button="nudge_register_lead",
            stop_action="nudge_stop_tips",
        )
        return {"blocks": message.blocks}

    benign = nudge("acme-taro")
    for text in HOSTILE:
        hostile = nudge(text)
        assert shape(hostile) == shape(benign), text[:40]
        assert link_marks(hostile) == link_marks(benign), text[:40]
        stop = [e for b in hostile["blocks"] for e in b.get("elements", []) if e.get("value")]
        assert stop and all("\ue000" not in e["value"] for e in stop)


def test_urls_are_kept_whole_and_cannot_end_their_link_early():
    long = "https://files.example.com/" + "a" * 400 + "?sig=xyz-123&t=1#page"
    sneaky = "https://evil.example/login|https://portal.example.com/guide.pdf"
    message = render_message(
        "nudge",
        "en",
        rule={"id": "log_in", "target": "logged_in"},
        rep={"key": "k", "name": "Taro", "partner_name": "Acme"},
        mention=None,
        assets=[{"url": sneaky, "title": "Guide"}],
        portal_url=long,
        button=None,
        stop_action="nudge_stop_tips",
    )
    (portal,) = [e for b in message.blocks for e in b.get("elements", []) if e.get("url")]
    assert portal["url"] == long  # not cut at a name's length, '-' and '#' intact
    text = words({"blocks": message.blocks})
    assert "<https://evil.example/login%7Chttps://portal.example.com/guide.pdf|Guide>" in text
