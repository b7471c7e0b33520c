"""The OAuth install, with partner install links: Bolt's flow, plus who the installing
workspace belongs to.

A plain `/slack/install` is the vendor's (or a partner's admin reinstalling): the team is
recorded, its owner unchanged (a new team is the vendor's). `/slack/install?partner=TOKEN`
(from `prm partners install-link KEY`) first checks the signed, expiring token; the OAuth
state Bolt issues is then remembered for that partner (`slack_install_intent`), and when
Slack sends the browser back with that state, the installed team becomes the partner's.
Bolt keeps everything else: the state's one use and ten minutes, the code exchange
(`oauth.v2.access`), the installation store.

The browser check is `StateCookie`'s: Bolt sets a cookie with the state and, by default,
refuses a callback without it. A browser that started *another* install (its cookie names
another state) is still refused; a callback with no cookie at all is accepted on the
strength of the state alone (server-issued, single use, ten minutes), because the cookie is
`Secure` and never comes back over the plain-http `PRM_PUBLIC_URL` of a local setup or a
test harness, and some clients keep no cookies (docs/partners.md).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from slack_bolt.oauth.oauth_flow import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.state_utils import OAuthStateUtils
from sqlalchemy import Engine

from bot.domain.install_links import InstallLinkError, read_token
from bot.store import partners, teams

log = logging.getLogger(__name__)

STATE_LIFETIME = timedelta(minutes=10)  # as Bolt's state store (bot.handlers.app)
PAGES = {
    "invalid": "This install link is not valid. Ask your partner manager for a new one.",
    "expired": "This install link has expired. Ask your partner manager for a new one.",
    "unknown": "This install link names a partner the program no longer has.",
}


class StateCookie(OAuthStateUtils):
    def is_valid_browser(
        self, state: str | None, request_headers: dict[str, str | Sequence[str]]
    ) -> bool:
        if state is None:
            return False
        cookies = (request_headers or {}).get("cookie")
        if not cookies or f"{self.cookie_name}=" not in str(cookies):
            return True  # no cookie came back: the state store decides
        return super().is_valid_browser(state, request_headers)


class PartnerInstallFlow(OAuthFlow):
    def __init__(
        self,
        *,
        client: WebClient,
        settings: OAuthSettings,
        engine: Engine,
        secret: str,
        clock: Callable[[], datetime],
    ):
        super().__init__(client=client, settings=settings)
        self.engine = engine
        self.secret = secret
        self.clock = clock

    def handle_installation(self, request: BoltRequest) -> BoltResponse:
        token = _first(request, "partner")
        if token is not None:
            problem = self._refusal(token)
            if problem is not None:
                body = f"<!doctype html><title>PRM</title><p>{html.escape(PAGES[problem])}</p>"
                status = 410 if problem == "expired" else 403
                return BoltResponse(status=status, body=body, headers=_html())
        return super().handle_installation(request)

    def issue_new_state(self, request: BoltRequest) -> str:
        state = super().issue_new_state(request)
        token = _first(request, "partner")
        if token is not None:
            now = self.clock()
            link = read_token(self.secret, token, now)  # checked in handle_installation
            with self.engine.begin() as conn:
                teams.add_intent(conn, state, link.partner_key, now + STATE_LIFETIME)
        return state

    def store_installation(self, request: BoltRequest, installation: Installation) -> None:
        super().store_installation(request, installation)
        team_id = installation.team_id
        if not team_id:
            return  # an org-wide (Enterprise Grid) install: no single team to map
        state = _first(request, "state")
        now = self.clock()
        with self.engine.begin() as conn:
            meant = teams.take_intent(conn, state, now) if state else None
            owner = teams.record_install(
                conn, team_id, now, partner_key=meant, name=installation.team_name
            )
        if meant is not None and owner != meant:
            log.warning(
                "install for partner %s: workspace %s already belongs to %s; kept",
                meant,
                team_id,
                owner or "the vendor",
            )
        else:
            log.info("installed in %s (%s)", team_id, owner or "the vendor's workspace")

    def _refusal(self, token: str) -> str | None:
        try:
            link = read_token(self.secret, token, self.clock())
        except InstallLinkError as exc:
            return exc.reason
        with self.engine.connect() as conn:
            known = partners.partner_names(conn, [link.partner_key])
        return None if known else "unknown"


def _first(request: BoltRequest, name: str) -> str | None:
    values = request.query.get(name) if request.query else None
    return str(values[0]) if values else None


def _html() -> dict[str, str | Sequence[str]]:
    return {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
