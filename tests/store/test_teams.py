"""Workspaces the bot knows: who they belong to, whether the bot may send there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine

from bot.store import teams
from tests.builders import Store

NOW = datetime(2026, 11, 1, 9, tzinfo=UTC)


def _seed(engine: Engine) -> None:
    Store(engine).partner("acme", name="Acme Corp").partner("globex", name="Globex")


def test_an_install_through_a_partners_link_makes_a_new_team_the_partners(engine):
    _seed(engine)
    with engine.begin() as conn:
        assert teams.record_install(conn, "TACME", NOW, partner_key="acme", name="Acme") == "acme"
        team = teams.team(conn, "TACME")
        assert team is not None and team.partner_key == "acme" and team.sendable
        assert [t.team_id for t in teams.partner_teams(conn, "acme")] == ["TACME"]
        assert teams.partner_of_team(conn, "TACME") == "acme"


def test_a_link_never_moves_the_vendors_team_nor_another_partners(engine):
    _seed(engine)
    with engine.begin() as conn:
        assert teams.record_install(conn, "TVENDOR", NOW) is None
        assert teams.record_install(conn, "TVENDOR", NOW, partner_key="acme") is None
        assert teams.record_install(conn, "TACME", NOW, partner_key="acme") == "acme"
        assert teams.record_install(conn, "TACME", NOW, partner_key="globex") == "acme"
        assert teams.vendor_team_ids(conn) == ["TVENDOR"]


def test_a_slack_connect_team_is_linked_once_and_is_not_sendable(engine):
    _seed(engine)
    with engine.begin() as conn:
        assert teams.link_partner(conn, "TEXT", "acme", NOW)
        assert not teams.link_partner(conn, "TEXT", "globex", NOW)  # kept: acme's
        team = teams.team(conn, "TEXT")
        assert team is not None and team.partner_key == "acme" and not team.sendable
        # Installed there later (the partner's own install): now sendable, still acme's.
        assert teams.record_install(conn, "TEXT", NOW) == "acme"
        assert teams.team(conn, "TEXT").sendable  # type: ignore[union-attr]


def test_removal_stops_sending_until_installed_again(engine):
    _seed(engine)
    with engine.begin() as conn:
        teams.record_install(conn, "TACME", NOW, partner_key="acme")
        assert teams.record_removed(conn, "TACME", teams.UNINSTALLED, NOW)
        assert not teams.record_removed(conn, "TACME", teams.UNINSTALLED, NOW)  # replayed
        team = teams.team(conn, "TACME")
        assert team is not None and not team.sendable
        assert team.removed_reason == teams.UNINSTALLED
        assert teams.removed_team_ids(conn) == {"TACME"}
        teams.record_install(conn, "TACME", NOW + timedelta(days=1))
        assert teams.team(conn, "TACME").sendable  # type: ignore[union-attr]
        assert teams.removed_team_ids(conn) == set()


def test_an_install_intent_is_used_once_and_expires(engine):
    _seed(engine)
    with engine.begin() as conn:
        teams.add_intent(conn, "state-1", "acme", NOW + timedelta(minutes=10))
        teams.add_intent(conn, "state-2", "globex", NOW + timedelta(minutes=10))
        assert teams.take_intent(conn, "state-1", NOW) == "acme"
        assert teams.take_intent(conn, "state-1", NOW) is None
        assert teams.take_intent(conn, "state-2", NOW + timedelta(minutes=11)) is None
        assert teams.take_intent(conn, "nope", NOW) is None


def test_the_newest_bot_token_of_a_team_and_forgetting_it(engine):
    _seed(engine)
    store = SQLAlchemyInstallationStore(client_id="cid", engine=engine)
    for token, day in (("xoxb-old", 1), ("xoxb-new", 2)):
        store.save(
            Installation(
                app_id="A1",
                team_id="TACME",
                bot_token=token,
                bot_id="B1",
                bot_user_id="UBOT",
                user_id="UINSTALLER",
                installed_at=datetime(2026, 1, day, tzinfo=UTC).timestamp(),
            )
        )
    with engine.begin() as conn:
        assert teams.bot_token(conn, "TACME") == "xoxb-new"
        assert teams.bot_token(conn, "TACME", "cid") == "xoxb-new"
        assert teams.bot_token(conn, "TACME", "other-app") is None
        teams.delete_installation(conn, "TACME")
        assert teams.bot_token(conn, "TACME") is None
    assert store.find_bot(enterprise_id=None, team_id="TACME") is None
