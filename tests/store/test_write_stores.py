"""The store's write side on real databases (SQLite and, with PRM_TEST_DATABASE_URL,
PostgreSQL): registrations, alert episodes, Slack recipients, tips, the content
catalogue and its downloads, and the dialect helpers they rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select

from bot.core import events
from bot.store import alerts, content, recipients, registrations, tips
from bot.store.engine import table_of, upsert
from bot.store.handles import events as event_table
from bot.store.handles import reps
from bot.store.schema import bot_table_names
from bot.store.tables import Event, Registration, SlackRecipient
from tests.builders import Store

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def world(engine: Engine) -> Store:
    return (
        Store(engine)
        .partner("acme", name="Acme", manager="UMGR", cs="UCS")
        .partner("globex", name="Globex")
        .user("acme-a", "acme", slack_user_id="UREPA", locale="ja-JP")
        .user("acme-b", "acme")
        .user("globex-a", "globex", slack_user_id="UREPG")
        .asset("guide", "onboarding", title="Guide")
        .asset("deck", title="Deck")
    )


def new_registration(engine: Engine, rep_key: str, **changes) -> registrations.NewRegistration:
    with engine.connect() as conn:
        user_id = registrations.rep_id(conn, rep_key)
        rep = registrations.rep(conn, user_id)
    values = {
        "kind": "deal",
        "partner_id": rep.partner_id,
        "user_id": rep.id,
        "company": "Initech",
        "company_norm": "initech",
        "email_domain": "initech.com",
        "contact": None,
        "amount": Decimal("1000.5"),
        "currency": "USD",
        "expected_close": None,
        "notes": None,
        "status": "pending",
        "event_id": f"ev-{rep_key}-{changes.get('submission_key')}",
        "created_at": NOW,
        "conflict_id": None,
        "submission_key": None,
        **changes,
    }
    return registrations.NewRegistration(**values)


# --- registrations -----------------------------------------------------------------------


def test_a_registration_is_stored_once_per_submission_key(engine):
    world(engine)
    new = new_registration(engine, "acme-a", submission_key="view:1")
    with engine.begin() as conn:
        first = registrations.insert_registration(conn, new)
        again = registrations.insert_registration(conn, new)
    assert isinstance(first, int)
    assert again is None
    with engine.connect() as conn:
        rows = conn.execute(select(table_of(Registration).c.id)).all()
    assert [r.id for r in rows] == [first]


def test_rep_lookups(engine):
    world(engine)
    with engine.connect() as conn:
        user_id = registrations.rep_id(conn, "acme-a")
        assert registrations.rep_locale(conn, user_id) == "ja-JP"
        assert registrations.partner_manager(conn, "acme") == "UMGR"
        assert registrations.partner_manager(conn, "globex") is None
        assert registrations.partner_manager(conn, "nobody") is None


def test_a_conflict_is_another_partners_open_registration_of_the_same_customer(engine):
    world(engine)
    with engine.begin() as conn:
        mine = registrations.insert_registration(conn, new_registration(engine, "acme-a"))
        theirs = registrations.insert_registration(
            conn,
            new_registration(engine, "globex-a", email_domain="other.com", submission_key="g1"),
        )
        closed = registrations.insert_registration(
            conn,
            new_registration(engine, "globex-a", status="rejected", submission_key="g2"),
        )
    assert None not in (mine, theirs, closed)
    with engine.connect() as conn:
        acme = registrations.rep(conn, registrations.rep_id(conn, "acme-a"))

    def conflict(**changes) -> int | None:
        query = {
            "other_than_partner": acme.partner_id,
            "since": NOW - DAY,
            "email_domain": "initech.com",
            "company_norm": "initech",
            "closed": ("rejected", "expired"),
            **changes,
        }
        with engine.connect() as conn:
            return registrations.latest_conflict(conn, **query)

    assert conflict() == theirs  # same company name, another partner; not its own, not closed
    assert conflict(company_norm="") is None  # an empty name matches nothing
    assert conflict(company_norm="", email_domain="other.com") == theirs
    assert conflict(since=NOW + DAY) is None


def test_a_status_moves_only_from_the_status_it_leaves(engine):
    world(engine)
    with engine.begin() as conn:
        reg_id = registrations.insert_registration(conn, new_registration(engine, "acme-a"))
    assert reg_id is not None
    with engine.begin() as conn:
        assert registrations.move_status(conn, reg_id, "pending", "approved", {"decided_by": "U"})
        assert not registrations.move_status(conn, reg_id, "pending", "rejected", {})
    with engine.connect() as conn:
        card = registrations.card_row(conn, reg_id)
        deal = registrations.deal(conn, reg_id)
    assert (card["status"], card["decided_by"]) == ("approved", "U")
    assert (card["rep_key"], card["rep_slack"], card["partner_key"]) == ("acme-a", "UREPA", "acme")
    assert card["manager_slack_id"] == "UMGR"
    assert deal == registrations.Deal(
        reg_id, "approved", card["partner_id"], card["user_id"], Decimal("1000.5"), "UMGR", "UREPA"
    )


def test_a_lead_is_not_a_deal_and_a_missing_registration_has_no_parties(engine):
    world(engine)
    with engine.begin() as conn:
        lead = registrations.insert_registration(
            conn, new_registration(engine, "acme-a", kind="lead", status="registered")
        )
    assert lead is not None
    with engine.connect() as conn:
        assert registrations.deal(conn, lead) is None
        assert registrations.parties(conn, lead) == ("UMGR", "UREPA")
        assert registrations.parties(conn, lead + 1) == (None, None)
        assert registrations.conflict_row(conn, lead + 1) is None
        other = registrations.conflict_row(conn, lead)
    assert other is not None
    assert set(other) == {
        "id",
        "kind",
        "company",
        "email_domain",
        "created_at",
        "status",
        "partner_key",
        "partner_name",
    }


def test_expiring_ids_are_chosen_by_status_and_window(engine):
    world(engine)
    ids = []
    with engine.begin() as conn:
        for n, expires in enumerate([NOW - DAY, NOW, NOW + DAY, NOW + 10 * DAY]):
            reg_id = registrations.insert_registration(
                conn, new_registration(engine, "acme-a", submission_key=f"k{n}")
            )
            assert reg_id is not None
            registrations.move_status(conn, reg_id, "pending", "approved", {"expires_at": expires})
            ids.append(reg_id)
    with engine.connect() as conn:
        past = registrations.ids_with_status_expiring(conn, "approved", None, NOW)
        soon = registrations.ids_with_status_expiring(conn, "approved", NOW, NOW + 3 * DAY)
        none = registrations.ids_with_status_expiring(conn, "pending", None, NOW + 30 * DAY)
    assert sorted(past) == ids[:2]
    assert soon == [ids[2]]
    assert none == []


def test_a_registration_event_is_keyed_by_the_registration(engine):
    world(engine)
    with engine.begin() as conn:
        user_id = registrations.rep_id(conn, "acme-a")
        rep = registrations.rep(conn, user_id)
        registrations.record_event(
            conn,
            event_id="slack-deal-won-7",
            type_=events.WON,
            now=NOW,
            partner_id=rep.partner_id,
            user_id=rep.id,
            reg_id=7,
            amount=Decimal("12.5"),
        )
    with engine.connect() as conn:
        row = conn.execute(select(table_of(Event))).one()
    assert (row.event_id, row.type, row.object_key) == (
        "slack-deal-won-7",
        events.WON,
        "registration:7",
    )
    assert (row.occurred_at, row.amount) == (NOW, Decimal("12.5"))


# --- alert episodes ----------------------------------------------------------------------


def open_one(engine: Engine, subject: str = "rep:acme-a", partner_key: str = "acme") -> int | None:
    return alerts.open_episode(
        engine,
        condition="coaching",
        subject=subject,
        cs_slack_id="UCS",
        partner_key=partner_key,
        detail='{"rep": "acme-a"}',
        now=NOW,
    )


def test_one_open_episode_per_condition_and_subject(engine):
    world(engine)
    first = open_one(engine)
    assert isinstance(first, int)
    assert open_one(engine) is None  # another instance opened it a moment ago
    with engine.begin() as conn:
        alerts.close_episodes(conn, [first], NOW + DAY)
    second = open_one(engine)
    assert isinstance(second, int) and second != first
    with engine.connect() as conn:
        assert [e["id"] for e in alerts.open_episodes(conn, "UCS")] == [second]
        assert alerts.open_episodes(conn, "USOMEONE") == []
        closed = alerts.episode(conn, first)
    assert closed is not None and closed["closed_at"] == NOW + DAY


def test_an_episode_names_its_partner_by_key(engine):
    world(engine)
    known = open_one(engine)
    unknown = open_one(engine, subject="partner:gone", partner_key="gone")
    assert known is not None and unknown is not None
    with engine.connect() as conn:
        acme_id = registrations.rep(conn, registrations.rep_id(conn, "acme-a")).partner_id
        found, missing = alerts.episode(conn, known), alerts.episode(conn, unknown)
        assert alerts.episode(conn, unknown + 1) is None
    assert found is not None and found["partner_id"] == acme_id
    assert missing is not None and missing["partner_id"] is None


def test_an_acknowledgement_ends_a_snooze(engine):
    world(engine)
    episode_id = open_one(engine)
    assert episode_id is not None
    with engine.begin() as conn:
        alerts.snooze(conn, episode_id, NOW + 7 * DAY)
    with engine.connect() as conn:
        snoozed = alerts.episode(conn, episode_id)
    assert snoozed is not None and snoozed["snoozed_until"] == NOW + 7 * DAY
    with engine.begin() as conn:
        alerts.acknowledge(conn, episode_id, "UCS", NOW + DAY)
    with engine.connect() as conn:
        acked = alerts.episode(conn, episode_id)
    assert acked is not None
    assert (acked["acked_at"], acked["acked_by"], acked["snoozed_until"]) == (
        NOW + DAY,
        "UCS",
        None,
    )


def test_delivery_statuses_of_keys(engine):
    from bot.store import ledger

    world(engine)
    with engine.begin() as conn:
        entry = ledger.Entry(key="k1", job="j", kind="alert", recipient="UCS")
        ledger.claim(conn, entry, NOW, None)
    with engine.connect() as conn:
        assert ledger.statuses_of(conn, ["k1", "k2"]) == {"k1": ledger.status_of(conn, "k1")}
        assert ledger.statuses_of(conn, []) == {}


# --- Slack recipients and the upsert helper ----------------------------------------------


def test_recipient_writes_keep_the_columns_they_do_not_name(engine):
    recipients.save(engine, "U1", dm_channel_id="D1")
    recipients.save(engine, "U1", tz="Asia/Tokyo", locale="ja-JP", profile_at=NOW)
    recipients.save(engine, "U1", dm_channel_id="D2")
    row = recipients.known(engine, ["U1", "U9"])
    assert list(row) == ["U1"]
    assert (row["U1"]["dm_channel_id"], row["U1"]["tz"], row["U1"]["profile_at"]) == (
        "D2",
        "Asia/Tokyo",
        NOW,
    )


def test_recipients_are_written_and_read_in_batches(engine):
    ids = [f"U{i:04d}" for i in range(1203)]
    recipients.save(engine, "U0000", dm_channel_id="DOLD", tz="UTC")
    profiles = {u: {"tz": "Europe/Paris", "locale": "fr-FR", "profile_at": NOW} for u in ids[:700]}
    channels = {u: f"D{u}" for u in ids[500:]}
    recipients.save_many(engine, profiles, channels)
    recipients.save_many(engine, {}, {})  # nothing to write: no transaction
    found = recipients.known(engine, ids)
    assert len(found) == len(ids)
    assert (found["U0000"]["dm_channel_id"], found["U0000"]["tz"]) == ("DOLD", "Europe/Paris")
    assert (found["U0600"]["dm_channel_id"], found["U0600"]["locale"]) == ("DU0600", "fr-FR")
    assert (found["U1202"]["dm_channel_id"], found["U1202"]["tz"]) == ("DU1202", None)


def test_upsert_inserts_then_updates_only_the_named_columns(engine):
    table = table_of(SlackRecipient)
    with engine.begin() as conn:
        conn.execute(
            upsert(
                conn,
                table,
                {"slack_user_id": "U1", "tz": "UTC", "locale": "en"},
                ["slack_user_id"],
                ["tz"],
            )
        )
        conn.execute(
            upsert(
                conn,
                table,
                {"slack_user_id": "U1", "tz": "Asia/Tokyo", "locale": "ja"},
                ["slack_user_id"],
                ["tz"],
            )
        )
        row = conn.execute(select(table.c.tz, table.c.locale)).one()
    assert tuple(row) == ("Asia/Tokyo", "en")


# --- tips --------------------------------------------------------------------------------


def test_tips_are_switched_per_slack_account_or_per_rep(engine):
    world(engine)
    with engine.begin() as conn:
        assert tips.set_tips_off_for_slack_user(conn, "UREPA", NOW) == 1
        assert tips.set_tips_off_for_slack_user(conn, "UNOBODY", NOW) == 0
        rep = tips.rep_by_key(conn, "acme-b")
        assert rep is not None and rep.slack_user_id is None
        tips.set_tips_off(conn, rep.id, NOW + DAY)
        assert tips.rep_by_key(conn, "gone") is None
        assert tips.is_rep_of_partner(conn, rep.partner_id, "UREPA")
        assert not tips.is_rep_of_partner(conn, rep.partner_id, "UREPG")
    with engine.connect() as conn:
        off = {key: at for key, at in conn.execute(select(reps.c.key, reps.c.tips_off_at))}
    assert off == {"acme-a": NOW, "acme-b": NOW + DAY, "globex-a": None}
    with engine.begin() as conn:
        tips.set_tips_off_for_slack_user(conn, "UREPA", None)
    with engine.connect() as conn:
        assert (
            conn.execute(select(reps.c.tips_off_at).where(reps.c.key == "acme-a")).scalar() is None
        )


# --- content -----------------------------------------------------------------------------


def test_the_catalogue_is_every_asset_and_tag_with_the_reps_downloads(engine):
    store = world(engine)
    store.event(events.DOWNLOAD, NOW, "acme", "acme-a", "guide")
    store.event(events.DOWNLOAD, NOW, "acme", "acme-a", "guide")
    with engine.connect() as conn:
        mine = content.catalogue(conn, "acme-a")
        theirs = content.catalogue(conn, "acme-b")
        anyone = content.catalogue(conn, None)
    assert [(r.key, r.tag, r.downloaded) for r in mine] == [
        ("deck", None, False),
        ("guide", "onboarding", True),
    ]
    assert [r.downloaded for r in theirs] == [False, False]
    assert [r.downloaded for r in anyone] == [False, False]
    assert mine[1] == content.CatalogueRow("guide", "Guide", "https://x/guide", "onboarding", True)


def test_a_download_is_one_event_for_the_rep_and_asset(engine):
    world(engine)
    with engine.connect() as conn:
        target = content.download_target(conn, "acme-a", "guide")
        assert content.download_target(conn, "gone", "guide") is None
        assert content.download_target(conn, "acme-a", "gone") is None
    assert target is not None and target.url == "https://x/guide"
    with engine.begin() as conn:
        content.record_download_event(conn, target, "guide", NOW)
        content.record_download_event(conn, target, "guide", NOW)
    with engine.connect() as conn:
        rows = conn.execute(select(event_table)).all()
    assert len({r.event_id for r in rows}) == 2  # every click counts
    assert {(r.type, r.user_id, r.partner_id, r.object_key, r.occurred_at) for r in rows} == {
        (events.DOWNLOAD, target.user_id, target.partner_id, "guide", NOW)
    }


def test_the_health_check_tables_are_the_models_tables():
    names = bot_table_names()
    assert {"partner", "partner_user", "event", "registration", "alert_episode"} <= set(names)
    assert names.index("partner") < names.index("partner_user") < names.index("registration")
    assert not {"slack_installations", "slack_bots", "slack_oauth_states"} & set(names)
