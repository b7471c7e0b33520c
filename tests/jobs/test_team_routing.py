"""next-actions across workspaces: a rep in a partner's installed workspace gets the DM with
that workspace's token; a rep the bot cannot DM (an external Slack Connect member) is
mentioned in the partner's channel; a workspace that removed the bot hears nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import update

from bot.store import teams
from bot.store.tables import Partner, PartnerUser
from tests.builders import Store
from tests.jobs.conftest import job_settings
from tests.slack.payloads import words

NOON = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
INITECH_TEAM = "TINITECH"
EXTERNAL = "UEXTJO"


def _external_rep(jobs) -> None:
    """initech gets a channel and a rep whose Slack account is in initech's workspace."""
    with jobs.engine.begin() as conn:
        conn.execute(
            update(Partner).where(Partner.key == "initech").values(slack_channel_id="CINITECH")
        )
    Store(jobs.engine).user(
        "initech-jo", "initech", "2025-06-05", name="Jordan", slack_user_id=EXTERNAL
    )
    with jobs.engine.begin() as conn:
        conn.execute(
            update(PartnerUser)
            .where(PartnerUser.key == "initech-jo")
            .values(slack_team_id=INITECH_TEAM)
        )
        teams.link_partner(conn, INITECH_TEAM, "initech", NOON)
    jobs.fake.add_team(INITECH_TEAM, name="Initech KK")
    jobs.fake.add_user(EXTERNAL, team_id=INITECH_TEAM)


def _install(jobs, team: str) -> None:
    SQLAlchemyInstallationStore(client_id="cid", engine=jobs.engine).save(
        Installation(
            app_id="A0001",
            team_id=team,
            bot_token=jobs.fake.token_of(team),
            bot_id="B1",
            bot_user_id="UBOT",
            user_id="UINSTALLER",
        )
    )
    with jobs.engine.begin() as conn:
        teams.record_install(conn, team, NOON)


def test_an_external_rep_is_mentioned_in_the_partner_channel_not_dmed(jobs):
    _external_rep(jobs)
    summary = jobs.run("next-actions", NOON)
    assert EXTERNAL not in {c.params.get("users") for c in jobs.fake.calls_to("conversations.open")}
    (post,) = [
        c for c in jobs.fake.calls_to("chat.postMessage") if c.params["channel"] == "CINITECH"
    ]
    assert f"<@{EXTERNAL}>" in words(post.params)
    assert post.team == jobs.fake.team_id  # the channel is the vendor's: the vendor's token
    assert summary["channel_reps"] == 2  # Jordan and Ivan (no Slack id)


def test_a_rep_of_an_installed_partner_workspace_is_dmed_with_its_token(db_url, jobs):
    _external_rep(jobs)
    jobs.settings = job_settings(
        db_url, jobs.fake, slack_client_id="cid", slack_client_secret="secret"
    )
    _install(jobs, INITECH_TEAM)
    jobs.run("next-actions", NOON)
    opened = [c for c in jobs.fake.calls_to("conversations.open") if c.params["users"] == EXTERNAL]
    assert [c.team for c in opened] == [INITECH_TEAM]
    theirs = [c for c in jobs.fake.calls_to("chat.postMessage") if c.team == INITECH_TEAM]
    assert len(theirs) == 1 and theirs[0].params["channel"] != "CINITECH"
    rows = [r for r in jobs.ledger() if r["recipient"] == EXTERNAL]
    assert [r["status"] for r in rows] == ["sent"]


def test_a_workspace_that_removed_the_bot_hears_nothing_more(db_url, jobs):
    _external_rep(jobs)
    jobs.settings = job_settings(
        db_url, jobs.fake, slack_client_id="cid", slack_client_secret="secret"
    )
    _install(jobs, INITECH_TEAM)
    with jobs.engine.begin() as conn:
        teams.record_removed(conn, INITECH_TEAM, teams.UNINSTALLED, NOON)
        teams.delete_installation(conn, INITECH_TEAM)
    summary = jobs.run("next-actions", NOON)
    assert summary["skipped:uninstalled"] == 1
    assert not [c for c in jobs.fake.calls if c.team == INITECH_TEAM]
    assert not [r for r in jobs.ledger() if r["recipient"] == EXTERNAL]
