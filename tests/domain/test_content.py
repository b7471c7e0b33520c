"""The content library: signed tracked links, the /c/<token> redirect over real HTTP, the
catalogue by journey stage, and its English and Japanese renderings."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, event, insert, select

from bot.core.settings import Settings
from bot.domain.content import (
    library,
    record_download,
    stage_of,
    tracked_assets,
    with_tracked_urls,
)
from bot.domain.links import is_robot, make_token, read_token, tracked_url
from bot.slack.blocks import SECTION_MAX
from bot.slack.messages import render_message
from bot.store.tables import Asset, Event, PartnerFirstEvent
from bot.web.links import build_router
from tests.builders import Store
from tests.slack.payloads import japanese_share, words

SECRET = "test-secret-key"
PUBLIC = "https://prm.example.com/"
NOW = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def seed(engine: Engine) -> Store:
    store = (
        Store(engine)
        .partner("acme")
        .partner("globex")
        .user("acme-a", "acme")
        .user("acme-b", "acme")
        .user("globex-a", "globex")
        .asset("onb-guide", "onboarding", title="Partner welcome guide")
        .asset("onb-deck", "sales", "onboarding", title="Product overview deck")
        .asset("pricing", "sales", "pricing", title="Price list")
        .asset("case-retail", "case-study", title="Case study: retail")
        .asset("kit", "Co_Marketing", title="Co-marketing kit")
        .asset("webinar", "webinar", title="Webinar recording")
        .asset("cert", "training", title="Certification FAQ")
        .asset("sec", "technical", "security", title="Security white paper")
        .asset("brochure", title="Brochure 2024")
        .asset("ja-only", "ja", title="導入事例:製造業")
    )
    with engine.begin() as conn:
        conn.execute(insert(Asset).values(key="no-url", title="Coming soon", url=None))
        conn.execute(insert(Asset).values(key="ftp", title="Old share", url="ftp://x/old"))
    return store


def downloads(engine: Engine) -> list:
    with engine.connect() as conn:
        return conn.execute(
            select(Event).where(Event.type == "content.downloaded").order_by(Event.id)
        ).all()


# ---- tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rep", "asset"),
    [("acme-a", "onb-guide"), ("a.b|c", "x|y.z"), ("担当者", "資料-01"), ("r" * 128, "a" * 128)],
)
def test_token_round_trip(rep, asset):
    token = make_token(SECRET, rep, asset)
    assert re.fullmatch(r"v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)
    assert read_token(SECRET, token) == (rep, asset)


def test_changing_any_character_invalidates_the_token():
    token = make_token(SECRET, "acme-a", "onb-guide")
    for i, char in enumerate(token):
        for other in {B64[(B64.find(char) + 1) % 64], B64[(B64.find(char) + 17) % 64], "."}:
            if other == char:
                continue
            altered = token[:i] + other + token[i + 1 :]
            assert read_token(SECRET, altered) is None, (i, char, other)


def test_forged_truncated_and_spliced_tokens_are_invalid():
    token = make_token(SECRET, "acme-a", "onb-guide")
    version, payload, mac = token.split(".")
    other = make_token(SECRET, "acme-b", "pricing")
    forged = [
        "",
        token[:-1],
        token + "A",
        token + ".",
        f"v2.{payload}.{mac}",
        f"{payload}.{mac}",
        f"{version}.{other.split('.')[1]}.{mac}",  # another payload under this signature
        f"{version}.{payload}.{other.split('.')[2]}",
        f"{version}.{payload}.{mac}=",
        f"{version}.{payload}=.{mac}",
        token.replace("v1", "V1", 1),
        token + "é",
        "v1." + "A" * 5000 + "." + mac,
    ]
    for bad in forged:
        assert read_token(SECRET, bad) is None, bad


def test_another_secret_or_no_secret_is_invalid():
    token = make_token(SECRET, "acme-a", "onb-guide")
    assert read_token("another-secret", token) is None
    assert read_token(SECRET + " ", token) is None
    assert read_token("", token) is None
    with pytest.raises(ValueError, match="PRM_SECRET_KEY"):
        make_token("", "acme-a", "onb-guide")


def test_tracked_url_is_under_the_public_url():
    for public in ("https://prm.example.com", "https://prm.example.com/", "https://h/prm/"):
        url = tracked_url(public, SECRET, "acme-a", "onb-guide")
        assert url == f"{public.rstrip('/')}/c/{make_token(SECRET, 'acme-a', 'onb-guide')}"


# ---- recording -------------------------------------------------------------------------


def test_record_download_writes_one_event_and_keeps_the_rollup(engine):
    seed(engine)
    assert record_download(engine, "acme-a", "onb-guide", NOW) == "https://x/onb-guide"
    [row] = downloads(engine)
    assert (row.object_key, row.occurred_at) == ("onb-guide", NOW)
    assert row.event_id.startswith("click-")
    with engine.connect() as conn:
        first = conn.execute(
            select(PartnerFirstEvent.first_at).where(PartnerFirstEvent.type == "content.downloaded")
        ).scalar_one()
    assert first == NOW


@pytest.mark.parametrize(
    ("rep", "asset"),
    [("ghost", "onb-guide"), ("acme-a", "ghost"), ("acme-a", "no-url"), ("acme-a", "ftp")],
)
def test_record_download_refuses_unknown_rep_or_asset(engine, rep, asset):
    seed(engine)
    assert record_download(engine, rep, asset, NOW) is None
    assert downloads(engine) == []


# ---- the route, over real HTTP ---------------------------------------------------------


class Served:
    def __init__(self, engine: Engine, secret: str) -> None:
        self.settings = Settings(_env_file=None, secret_key=secret, public_url=PUBLIC)
        app = FastAPI()
        app.include_router(build_router(self.settings, engine, lambda: NOW))
        self.app = app
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        self.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.http = httpx.Client(base_url=self.base, follow_redirects=False, timeout=10)

    def link(self, rep: str, asset: str, secret: str = SECRET) -> str:
        return "/c/" + make_token(secret, rep, asset)

    def close(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def served(engine) -> Iterator[Served]:
    seed(engine)
    s = Served(engine, SECRET)
    yield s
    s.close()


def test_following_a_link_redirects_and_counts_one_download(engine, served):
    response = served.http.get(served.link("acme-a", "onb-guide"))
    assert response.status_code == 302
    assert response.headers["location"] == "https://x/onb-guide"
    assert response.headers["cache-control"] == "no-store"
    [row] = downloads(engine)
    with engine.connect() as conn:
        rep_id, partner_id = conn.execute(
            select(Event.user_id, Event.partner_id).where(Event.id == row.id)
        ).one()
        expected = conn.exec_driver_sql(
            "SELECT u.id, u.partner_id FROM partner_user u JOIN partner p ON p.id = u.partner_id"
            " WHERE u.key = 'acme-a' AND p.key = 'acme'"
        ).one()
    assert (rep_id, partner_id) == tuple(expected)
    assert (row.type, row.object_key, row.occurred_at) == ("content.downloaded", "onb-guide", NOW)


def test_every_click_counts(engine, served):
    link = served.link("acme-b", "pricing")
    assert served.http.get(link).status_code == 302
    assert served.http.get(link).status_code == 302
    rows = downloads(engine)
    assert len(rows) == 2
    assert len({r.event_id for r in rows}) == 2
    assert {r.object_key for r in rows} == {"pricing"}


def test_head_and_link_previews_do_not_count(engine, served):
    link = served.link("acme-a", "onb-guide")
    head = served.http.head(link)
    assert head.status_code == 302
    assert head.headers["location"] == "https://x/onb-guide"
    assert served.http.head(served.link("acme-a", "ghost")).status_code == 404
    preview = served.http.get(
        link, headers={"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}
    )
    assert preview.status_code == 302
    assert downloads(engine) == []


# Real User-Agent strings of link previewers, crawlers and other robots: never a download.
ROBOTS = [
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Slackbot 1.0 (+https://api.slack.com/robots)",
    "Slack-ImgProxy (+https://api.slack.com/robots)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) "
    "Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",  # iMessage
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) SkypeUriPreview "
    "Preview/0.5 skype-url-preview@microsoft.com",  # Teams and Skype
    "MicrosoftPreview/2.0 +https://aka.ms/MicrosoftPreview",  # Teams, Outlook
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17425; Pro)",
    "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
    "Microsoft Office Existence Discovery",
    "Microsoft-WebDAV-MiniRedir/10.0.19045",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "BingPreview/1.0b",
    "Twitterbot/1.0",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "TelegramBot (like TwitterBot)",
    "WhatsApp/2.23.20.0 A",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/125.0.6422.175 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
    "+https://openai.com/gptbot)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
    "+claudebot@anthropic.com)",
    "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)",
    "Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)",
    "Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)",
    "Iframely/1.3.1 (+https://iframely.com/docs/about)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (compatible; SomeNewCrawler/1.0)",  # not in the list: the pattern
    "ExampleSpider (contact: ops@example.com)",
    "",
]
# Real browsers (and in-app browsers) of people: every GET counts.
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 11; CUBOT P50) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.71 Mobile Safari/537.36",  # a phone whose name ends in "bot"
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Slack/4.38.125 Chrome/124.0.6367.243 Electron/30.1.0 Safari/537.36 Sonic Slack_SSB/4.38.125",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.38.109;FBBV/612345678;FBDV/iPhone15,2]",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 Safari Line/14.9.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 YaBrowser/24.6.0.0 Safari/537.36",
]


@pytest.mark.parametrize("agent", ROBOTS)
def test_robots_are_recognised(agent):
    assert is_robot(agent)


def test_no_user_agent_is_a_robot():
    assert is_robot(None)
    assert is_robot("   ")


@pytest.mark.parametrize("agent", BROWSERS)
def test_browsers_are_people(agent):
    assert not is_robot(agent)


def test_robot_gets_are_answered_but_only_people_count(engine, served):
    link = served.link("acme-a", "onb-guide")
    for agent in ROBOTS[:20]:
        response = served.http.get(link, headers={"User-Agent": agent})
        assert response.status_code == 302, agent
        assert response.headers["location"] == "https://x/onb-guide"
    assert downloads(engine) == []
    for agent in BROWSERS[:3]:
        assert served.http.get(link, headers={"User-Agent": agent}).status_code == 302
    assert len(downloads(engine)) == 3


def test_a_stray_slash_is_the_404_page_not_a_redirect(engine, served):
    response = served.http.get(served.link("acme-a", "onb-guide") + "/")
    assert response.status_code == 404
    assert "This link is not valid" in response.text
    assert downloads(engine) == []


@pytest.mark.parametrize(
    "path",
    [
        "tampered",
        "other-secret",
        "/c/v1.not-a-token",
        "/c/",
        "unknown-rep",
        "unknown-asset",
        "no-url",
        "ftp",
    ],
)
def test_bad_links_are_404_and_count_nothing(engine, served, path):
    good = served.link("acme-a", "onb-guide")
    path = {
        "tampered": good[:-3] + ("A" if good[-3] != "A" else "B") + good[-2:],
        "other-secret": served.link("acme-a", "onb-guide", secret="forger"),
        "unknown-rep": served.link("ghost", "onb-guide"),
        "unknown-asset": served.link("acme-a", "ghost"),
        "no-url": served.link("acme-a", "no-url"),
        "ftp": served.link("acme-a", "ftp"),
    }.get(path, path)
    response = served.http.get(path)
    assert response.status_code == 404
    if path != "/c/":  # no token at all is the framework's plain 404
        assert "This link is not valid" in response.text
        assert response.headers["content-type"].startswith("text/html")
    assert downloads(engine) == []


def test_without_a_secret_links_are_off(engine):
    seed(engine)
    s = Served(engine, "")
    try:
        response = s.http.get(s.link("acme-a", "onb-guide"))
        assert response.status_code == 503
        assert "switched off" in response.text
    finally:
        s.close()
    assert downloads(engine) == []


def test_the_link_route_is_not_in_the_openapi_schema(served):
    assert not any(p.startswith("/c/") for p in served.app.openapi()["paths"])


# ---- the library -----------------------------------------------------------------------


def test_stages_from_tags():
    assert stage_of(["sales", "onboarding"]) == "get_started"
    assert stage_of(["technical", "case-study"]) == "sell"
    assert stage_of(["Co_Marketing"]) == "promote"
    assert stage_of(["Training"]) == "learn"
    assert stage_of(["ja"]) == "more"
    assert stage_of([]) == "more"


def _shape(lib: dict) -> dict:
    return {g["stage"]: [a["key"] for a in g["assets"]] for g in lib["groups"]}


def test_library_groups_by_stage_onboarding_first(engine):
    seed(engine)
    with engine.connect() as conn:
        lib = library(conn, None)
    assert list(_shape(lib)) == ["get_started", "sell", "promote", "learn", "more"]
    assert _shape(lib) == {
        "get_started": ["onb-guide", "onb-deck"],  # by title: "Partner …" < "Product …"
        "sell": ["case-retail", "pricing"],
        "promote": ["kit", "webinar"],
        "learn": ["cert", "sec"],
        "more": ["brochure", "ja-only"],
    }
    assert lib["total"] == 10  # no-url and ftp are left out
    assert lib["downloaded"] is None
    first = lib["groups"][0]["assets"][1]
    assert first == {
        "key": "onb-deck",
        "title": "Product overview deck",
        "url": "https://x/onb-deck",
        "tags": ["onboarding", "sales"],
        "downloaded": None,
    }


def test_library_marks_what_this_rep_downloaded_in_one_query(engine):
    seed(engine).event("content.downloaded", NOW, "acme", "acme-a", "onb-guide").event(
        "content.downloaded", NOW, "acme", "acme-a", "onb-guide"
    ).event("content.downloaded", NOW, "acme", "acme-a", "cert").event(
        "content.downloaded", NOW, "acme", "acme-b", "pricing"
    ).event("content.downloaded", NOW, "globex", "globex-a", "kit").event(
        "user.login", NOW, "acme", "acme-a", "kit"
    )
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with engine.connect() as conn:
        event.listen(engine, "before_cursor_execute", count)
        try:
            lib = library(conn, "acme-a")
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    done = {a["key"] for g in lib["groups"] for a in g["assets"] if a["downloaded"]}
    assert done == {"onb-guide", "cert"}
    assert lib["downloaded"] == 2
    assert {g["stage"]: g["downloaded"] for g in lib["groups"]} == {
        "get_started": 1,
        "sell": 0,
        "promote": 0,
        "learn": 1,
        "more": 0,
    }
    with engine.connect() as conn:
        ghost = library(conn, "ghost")
    assert ghost["downloaded"] == 0
    assert not any(a["downloaded"] for g in ghost["groups"] for a in g["assets"])


def test_tracked_assets_fit_nudge_assets_too():
    assets = [{"key": "onb-guide", "title": "G", "url": "https://x/g"}, {"key": "n", "url": None}]
    out = tracked_assets(assets, PUBLIC, SECRET, "acme-a")
    assert out[0]["url"] == tracked_url(PUBLIC, SECRET, "acme-a", "onb-guide")
    assert out[1]["url"] is None
    assert assets[0]["url"] == "https://x/g"  # the input is not changed


# ---- rendering -------------------------------------------------------------------------

LINK = re.compile(r"<(https://prm\.example\.com/c/[^|>]+)\|([^>]*)>( ✅)?")


def _sections(rendered) -> list[str]:
    return [b["text"]["text"] for b in rendered.blocks if b["type"] == "section"]


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_rendering_has_tracked_links_for_the_rep(engine, served, locale):
    # The served fixture has seeded the store.
    Store(engine).event("content.downloaded", NOW, "acme", "acme-a", "cert")
    with engine.connect() as conn:
        lib = with_tracked_urls(library(conn, "acme-a"), PUBLIC, SECRET, "acme-a")
    rendered = render_message("content", locale, library=lib)
    text = "\n".join(_sections(rendered))
    links = LINK.findall(text)
    assert len(links) == 10
    assert "https://x/" not in text  # no untracked link
    ticked = [title for _, title, tick in links if tick]
    assert ticked == ["Certification FAQ"]
    for url, _, _ in links:
        assert read_token(SECRET, url.rsplit("/", 1)[1])[0] == "acme-a"
    prose = LINK.sub("", words({"blocks": rendered.blocks}))  # the titles are data
    if locale == "ja":
        assert "オンボーディング資料" in prose
        assert japanese_share(prose) > 0.4
    else:
        assert japanese_share(prose) < 0.1
    # The Done-when, in small: follow the first link of the message.
    first = links[0][0]
    response = served.http.get(first.removeprefix("https://prm.example.com"))
    assert response.status_code == 302
    assert response.headers["location"] == "https://x/onb-guide"
    assert [r.object_key for r in downloads(engine)] == ["cert", "onb-guide"]


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_rendering_without_a_rep_links_directly(engine, locale):
    seed(engine)
    with engine.connect() as conn:
        lib = library(conn, None)
    rendered = render_message("content", locale, library=lib)
    text = "\n".join(_sections(rendered))
    assert "<https://x/onb-guide|" in text
    assert "✅" not in text


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_long_groups_stay_within_slack_limits(locale):
    def asset(i: int, done: bool) -> dict:
        return {
            "key": f"asset-with-a-rather-long-key-{i:03d}",
            "title": f"A very long title & <brackets> number {i} " * 8,
            "url": "https://x/a",
            "tags": [],
            "downloaded": done,
        }

    groups = [
        {
            "stage": stage,
            "total": 25,
            "downloaded": 1,
            "assets": [asset(i, i == 0) for i in range(25)],
        }
        for stage in ("get_started", "sell", "promote", "learn", "more")
    ]
    lib = {"rep_key": "r" * 40, "total": 125, "downloaded": 5, "groups": groups}
    lib = with_tracked_urls(lib, PUBLIC, SECRET, "r" * 40)
    rendered = render_message("content", locale, library=lib)  # validates Block Kit
    sections = _sections(rendered)
    assert len(sections) == 5  # one per group, none split
    assert all(len(s) < SECTION_MAX for s in sections)
    for section in sections:
        shown = len(LINK.findall(section))
        assert 5 <= shown <= 10
        more = f"and {25 - shown} more" if locale == "en" else f"ほか{25 - shown}件"
        assert more in section


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_at_most_ten_per_group(locale):
    assets = [
        {"key": f"a{i}", "title": f"T{i}", "url": "https://x/a", "tags": [], "downloaded": False}
        for i in range(12)
    ]
    group = {"stage": "sell", "total": 12, "downloaded": 0, "assets": assets}
    lib = {"rep_key": "acme-a", "total": 12, "downloaded": 0, "groups": [group]}
    lib = with_tracked_urls(lib, PUBLIC, SECRET, "acme-a")
    [section] = _sections(render_message("content", locale, library=lib))
    assert len(LINK.findall(section)) == 10
    assert ("and 2 more" if locale == "en" else "ほか2件") in section


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_empty_library_renders(locale):
    lib = {"rep_key": "acme-a", "total": 0, "downloaded": 0, "groups": []}
    rendered = render_message("content", locale, library=lib)
    assert rendered.blocks[0]["type"] == "header"
    assert len(rendered.blocks) >= 3
