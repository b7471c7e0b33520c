"""slack-sdk's SQLAlchemy OAuth stores work on the migrated database, on both backends.

Migration 0004 writes the stores' tables out literally; these tests run the real stores on
them, and compare the migration with the tables the installed slack-sdk declares, so an
upgrade of the library that changes its tables fails here (and needs a new migration).
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, MetaData, inspect

from bot.store.schema import (
    HEAD_REVISION,
    current_revision,
    downgrade,
    ensure_schema,
    upgrade,
)

SLACK_TABLES = {"slack_installations", "slack_bots", "slack_oauth_states"}


def _installation(team_id: str, bot_token: str, installed_at: datetime) -> Installation:
    return Installation(
        app_id="A0PRM",
        enterprise_id=None,
        team_id=team_id,
        team_name="Acme Partners",
        bot_token=bot_token,
        bot_id="B0PRM",
        bot_user_id="U0PRMBOT",
        bot_scopes=["commands", "chat:write", "users:read"],
        user_id="U0INSTALLER",
        token_type="bot",
        installed_at=installed_at,
    )


def test_installation_store_round_trips(engine: Engine) -> None:
    ensure_schema(engine)
    assert current_revision(engine) == HEAD_REVISION
    store = SQLAlchemyInstallationStore(client_id="111.222", engine=engine)

    assert store.find_installation(enterprise_id=None, team_id="T0ACME") is None
    store.save(_installation("T0ACME", "xoxb-old", datetime(2026, 5, 1, 9, tzinfo=UTC)))
    store.save(_installation("T0ACME", "xoxb-new", datetime(2026, 6, 1, 9, tzinfo=UTC)))
    store.save(_installation("T0GLOBEX", "xoxb-globex", datetime(2026, 6, 2, 9, tzinfo=UTC)))

    found = store.find_installation(enterprise_id=None, team_id="T0ACME")
    assert found is not None
    assert (found.team_id, found.bot_token, found.user_id) == ("T0ACME", "xoxb-new", "U0INSTALLER")
    assert found.bot_scopes == ["commands", "chat:write", "users:read"]
    assert found.is_enterprise_install is False
    by_user = store.find_installation(enterprise_id=None, team_id="T0ACME", user_id="U0INSTALLER")
    assert by_user is not None and by_user.bot_token == "xoxb-new"

    bot = store.find_bot(enterprise_id=None, team_id="T0ACME")
    assert bot is not None
    assert (bot.bot_token, bot.bot_user_id, bot.team_id) == ("xoxb-new", "U0PRMBOT", "T0ACME")
    other = store.find_bot(enterprise_id=None, team_id="T0GLOBEX")
    assert other is not None and other.bot_token == "xoxb-globex"
    # another app's client id sees nothing of ours
    stranger = SQLAlchemyInstallationStore(client_id="999.999", engine=engine)
    assert stranger.find_bot(enterprise_id=None, team_id="T0ACME") is None

    store.delete_installation(enterprise_id=None, team_id="T0ACME")
    store.delete_bot(enterprise_id=None, team_id="T0ACME")
    assert store.find_installation(enterprise_id=None, team_id="T0ACME") is None
    assert store.find_bot(enterprise_id=None, team_id="T0ACME") is None


def test_state_store_issues_and_consumes_once(engine: Engine) -> None:
    ensure_schema(engine)
    store = SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine)
    state = store.issue()
    assert store.consume(state) is True
    assert store.consume(state) is False  # one use only
    assert store.consume("never-issued") is False

    expired = SQLAlchemyOAuthStateStore(expiration_seconds=-60, engine=engine)
    assert expired.consume(expired.issue()) is False


def _library_metadata() -> MetaData:
    metadata = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states")
    return metadata


def _only_slack_tables(name, type_, parent_names) -> bool:
    if type_ == "schema":
        return True
    table = name if type_ == "table" else parent_names.get("table_name")
    return table in SLACK_TABLES


def test_migration_matches_the_installed_slack_sdk_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": _only_slack_tables, "compare_type": True}
        )
        diff = compare_metadata(context, _library_metadata())
    assert diff == []


def test_downgrade_drops_the_stores_and_upgrade_restores_them(engine: Engine) -> None:
    try:
        downgrade(engine, "0003")
        inspector = inspect(engine)
        assert not SLACK_TABLES & set(inspector.get_table_names())
        assert "ix_partner_cs_slack_id" not in {
            ix["name"] for ix in inspector.get_indexes("partner")
        }
    finally:
        upgrade(engine)
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) >= SLACK_TABLES
    assert "ix_partner_cs_slack_id" in {ix["name"] for ix in inspector.get_indexes("partner")}
    assert {ix["name"] for ix in inspector.get_indexes("slack_installations")} == {
        "slack_installations_idx"
    }
    assert {ix["name"] for ix in inspector.get_indexes("slack_bots")} == {"slack_bots_idx"}


def test_workspaces_installed_before_0009_become_the_vendors(engine: Engine) -> None:
    """An OAuth deployment upgraded to partner reach: each installed workspace is a
    `slack_team` of the vendor's, so the jobs still find the vendor's token."""
    from bot.store import teams

    ensure_schema(engine)
    downgrade(engine, "0008")
    store = SQLAlchemyInstallationStore(client_id="111.222", engine=engine)
    store.save(_installation("T0ACME", "xoxb-acme", datetime(2026, 5, 1, 9, tzinfo=UTC)))
    upgrade(engine)
    with engine.connect() as conn:
        team = teams.team(conn, "T0ACME")
        assert team is not None and team.partner_key is None and team.sendable
        assert teams.vendor_team_ids(conn) == ["T0ACME"]
    downgrade(engine, "0008")
    upgrade(engine)
