"""Identity is (team, user): a partner's workspace sees that partner only, an unknown
external person nothing, and the vendor's single workspace behaves as before."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from bot.core.settings import Settings
from bot.domain.access import Role, resolve_viewer
from bot.domain.questions import parse
from bot.slack.replies import command_reply, home_view
from bot.store import teams
from bot.store.tables import PartnerUser
from tests.slack.conftest import ADMIN, AS_OF, MANAGER, REP_EN, REP_OTHER, seed
from tests.slack.payloads import words

NAMES = {"acme": "Acme Corp", "globex": "Globex", "initech": "Initech KK", "umbrella": "Umbrella"}
VENDOR, ACME_TEAM, OTHER_TEAM = "TVENDOR", "TACME", "TUNKNOWN"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(_env_file=None, database_url=db_url, admin_slack_ids=ADMIN)


@pytest.fixture
def program(engine):
    seed(engine)
    with engine.begin() as conn:
        teams.record_install(conn, VENDOR, AS_OF)
        teams.record_install(conn, ACME_TEAM, AS_OF, partner_key="acme")
    return engine


def _answers(conn, settings, viewer) -> str:
    said = []
    for command in ("kpi", "kpi funnel", "partner acme", "kpi globex", "partner globex"):
        reply = command_reply(conn, settings, AS_OF, viewer, parse(command, settings.tz), "en")
        said.append(words({"text": reply.text, "blocks": reply.blocks}))
    said.append(words(home_view(conn, settings, AS_OF, viewer, "en")))
    return re.sub(r"“[^”]*”", "", "\n".join(said))  # the asker's own words, echoed back


def test_anyone_of_a_partners_workspace_sees_that_partner_only(program, settings):
    with program.connect() as conn:
        viewer = resolve_viewer(conn, "UACME-NEW", settings.admins, ACME_TEAM, ACME_TEAM)
        assert viewer.role is Role.PARTNER and viewer.book_scope().partner_key == "acme"
        text = _answers(conn, settings, viewer)
    assert "Acme Corp" in text
    assert not [n for k, n in NAMES.items() if k != "acme" and n in text]
    assert "not linked to a rep of Acme Corp" in text


def test_a_partner_workspace_never_makes_an_admin_or_a_manager(program, settings):
    with program.connect() as conn:
        for user in (ADMIN, MANAGER):
            viewer = resolve_viewer(conn, user, settings.admins, ACME_TEAM, ACME_TEAM)
            assert viewer.role is Role.PARTNER, user
            text = _answers(conn, settings, viewer)
            assert not [n for k, n in NAMES.items() if k != "acme" and n in text], user


def test_a_rep_in_their_partners_workspace_is_that_rep(program, settings):
    with program.connect() as conn:
        viewer = resolve_viewer(conn, REP_EN, settings.admins, ACME_TEAM, ACME_TEAM)
        assert viewer.role is Role.REP and viewer.rep is not None
        assert viewer.rep.key == "acme-alice"
        # Globex's rep id typed from Acme's workspace is not Globex's rep there.
        other = resolve_viewer(conn, REP_OTHER, settings.admins, ACME_TEAM, ACME_TEAM)
        assert other.role is Role.PARTNER and other.book_scope().partner_key == "acme"


def test_an_unknown_external_person_is_a_stranger(program, settings):
    with program.connect() as conn:
        viewer = resolve_viewer(conn, "UEXT", settings.admins, OTHER_TEAM, VENDOR)
        assert viewer.role is Role.STRANGER
        # Even with an admin's or a manager's id: external is external.
        assert resolve_viewer(conn, ADMIN, settings.admins, OTHER_TEAM, VENDOR).role is (
            Role.STRANGER
        )
        assert resolve_viewer(conn, MANAGER, settings.admins, OTHER_TEAM, VENDOR).role is (
            Role.STRANGER
        )


def test_an_external_rep_linked_to_their_workspace_is_that_rep(program, settings):
    with program.begin() as conn:
        conn.execute(
            update(PartnerUser)
            .where(PartnerUser.key == "globex-gina")
            .values(slack_team_id=OTHER_TEAM)
        )
    with program.connect() as conn:
        viewer = resolve_viewer(conn, REP_OTHER, settings.admins, OTHER_TEAM, VENDOR)
        assert viewer.role is Role.REP and viewer.book_scope().partner_key == "globex"
        # The same id claimed from yet another workspace is not Gina.
        assert resolve_viewer(conn, REP_OTHER, settings.admins, "TELSE", VENDOR).role is (
            Role.STRANGER
        )


@pytest.mark.parametrize("teams_said", [(None, None), (VENDOR, VENDOR)])
def test_the_vendors_people_are_who_they_were(program, settings, teams_said):
    with program.connect() as conn:
        assert resolve_viewer(conn, ADMIN, settings.admins, *teams_said).role is Role.ADMIN
        assert resolve_viewer(conn, MANAGER, settings.admins, *teams_said).role is Role.MANAGER
        assert resolve_viewer(conn, REP_EN, settings.admins, *teams_said).role is Role.REP
        assert resolve_viewer(conn, "UNOBODY", settings.admins, *teams_said).role is (Role.STRANGER)


def test_a_single_workspace_without_any_team_rows_behaves_as_before(engine, settings):
    seed(engine)
    with engine.connect() as conn:
        assert resolve_viewer(conn, MANAGER, settings.admins, "T0001", "T0001").role is (
            Role.MANAGER
        )
        assert resolve_viewer(conn, REP_EN, settings.admins, "T0001", "T0001").role is Role.REP
