"""PUT /api/v1/partners, /users, /assets: upsert by key, per-item results, the importer's rules."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.store.importer import import_path
from bot.store.tables import Asset, AssetTag, Partner, PartnerUser


def results(response) -> list[tuple]:
    assert response.status_code == 200, response.text
    return [(r["index"], r["key"], r["status"], r["reason"]) for r in response.json()["results"]]


def partner_row(api, key: str):
    with api.engine.connect() as conn:
        return conn.execute(
            select(
                Partner.name,
                Partner.tier,
                Partner.manager_slack_id,
                Partner.signed_on,
                Partner.signed_at,
            ).where(Partner.key == key)
        ).one()


def test_partners_insert_then_update(empty_api):
    api = empty_api
    first = api.put(
        "partners",
        [
            {
                "key": "acme",
                "name": "Acme",
                "signed_at": "2026-01-10",
                "tier": "gold",
                "manager_slack_id": "UMGR1",
            },
            {"key": "globex", "name": "Globex"},
        ],
    )
    assert results(first) == [(0, "acme", "inserted", None), (1, "globex", "inserted", None)]
    assert first.json()["inserted"] == 2
    assert partner_row(api, "acme") == ("Acme", "gold", "UMGR1", date(2026, 1, 10), None)

    # A key absent from the object keeps its value; null clears it; an instant replaces the date.
    second = api.put(
        "partners",
        [
            {"key": "acme", "name": "Acme Corp", "tier": None, "signed_at": "2026-01-10T09:00:00Z"},
            {"key": "initech", "name": "Initech"},
            {"key": "initech", "name": "Initech KK"},  # the same key later in the request
        ],
    )
    assert results(second) == [
        (0, "acme", "updated", None),
        (1, "initech", "inserted", None),
        (2, "initech", "rejected", "key 'initech' already appears at index 1 of this request"),
    ]
    body = second.json()
    assert (body["inserted"], body["updated"], body["rejected"]) == (1, 1, 1)
    name, tier, manager, signed_on, signed_at = partner_row(api, "acme")
    assert (name, tier, manager, signed_on) == ("Acme Corp", None, "UMGR1", None)
    assert signed_at.isoformat() == "2026-01-10T09:00:00+00:00"
    assert partner_row(api, "initech")[0] == "Initech"  # the first one wins


def test_users_and_assets_upsert(api):
    users = api.put(
        "users",
        [
            {"key": "acme-carol", "partner_key": "acme", "name": "Carol", "locale": "ja"},
            {"key": "acme-alice", "partner_key": "acme", "email": "alice@acme.example"},
        ],
    )
    assert results(users) == [
        (0, "acme-carol", "inserted", None),
        (1, "acme-alice", "updated", None),
    ]
    with api.engine.connect() as conn:
        alice = conn.execute(
            select(PartnerUser.name, PartnerUser.email).where(PartnerUser.key == "acme-alice")
        ).one()
    assert tuple(alice) == ("Alice", "alice@acme.example")  # name untouched

    assets = api.put(
        "assets",
        [
            {"key": "guide", "tags": ["onboarding", "basics"]},
            {
                "key": "video",
                "title": "Demo video",
                "url": "https://example.com/v",
                "tags": "demo; onboarding",
            },
        ],
    )
    assert results(assets) == [(0, "guide", "updated", None), (1, "video", "inserted", None)]
    with api.engine.connect() as conn:
        tags = conn.execute(
            select(Asset.key, AssetTag.tag)
            .join(AssetTag, AssetTag.asset_id == Asset.id)
            .order_by(Asset.key, AssetTag.tag)
        ).all()
    assert [tuple(t) for t in tags] == [
        ("guide", "basics"),
        ("guide", "onboarding"),
        ("video", "demo"),
        ("video", "onboarding"),
    ]


BAD = {
    "partners": [
        {"key": "ok-partner", "name": "OK"},
        {"key": "no-name"},
        {"name": "No key"},
        {"key": "chan", "name": "Chan", "slack_channel_id": "#general"},
        {"key": "dm", "name": "DM", "slack_channel_id": "D024BE91L"},
        {"key": "when", "name": "When", "signed_at": "2026-02-30"},
        {"key": "x" * 200, "name": "Long"},
        {"key": "flag", "name": True},
    ],
    "users": [
        {"key": "ok-user", "partner_key": "acme"},
        {"key": "lost", "partner_key": "nope"},
        {"key": "acme-alice", "partner_key": "globex"},  # users stay with their partner
        {"key": "naive", "partner_key": "acme", "registered_at": "2026-01-01T10:00:00"},
        {"partner_key": "acme"},
    ],
    "assets": [
        {"key": "ok-asset", "tags": []},
        {"key": "bad-tags", "tags": ["a", 1]},
        {"title": "no key"},
        {"key": "long-tag", "tags": ["t" * 100]},
    ],
}


def test_rejection_reasons_are_the_importers(api, tmp_path: Path):
    for kind, items in BAD.items():
        outcome = results(api.put(kind, items))
        assert outcome[0][2] == "inserted", kind
        assert all(status == "rejected" for _, _, status, _ in outcome[1:]), outcome
        path = tmp_path / f"{kind}.jsonl"
        path.write_text("".join(json.dumps(item) + "\n" for item in items))
        report = import_path(api.engine, kind, path, ZoneInfo("UTC"))
        assert report.rejections == [(i + 1, reason) for i, _, _, reason in outcome[1:]], kind
        assert report.updated == 1  # the good item, stored by the API already

    reasons = {key: reason for _, key, _, reason in results(api.put("partners", BAD["partners"]))}
    assert reasons["no-name"] == "missing required field 'name'"
    assert reasons["dm"].startswith("slack_channel_id: 'D024BE91L' is a direct-message id")
    assert reasons["when"] == "signed_at: unparseable date: '2026-02-30'"
    assert reasons["flag"] == "field 'name' must be a string, not true"
    users = results(api.put("users", BAD["users"]))
    assert users[2][3] == (
        "user 'acme-alice' belongs to partner 'acme', not 'globex' "
        "(a user cannot move to another partner)"
    )


def test_nul_characters_are_rejected_on_every_database(empty_api):
    """PostgreSQL cannot store NUL: the importer refuses it itself, the same on SQLite, with
    the field and the position; the rest of the batch is stored."""
    items = [
        {"key": "nul\x00key", "name": "N"},
        {"key": "fine", "name": "F"},
        {"key": "nul-name", "name": "a\x00b"},
        {"key": "line\nbreak", "name": "L"},
        {"key": "multi-line-name", "name": "Acme\nJapan"},  # a free-text field may break
    ]
    nul = "a NUL character (\\x00) at character {}, which the database cannot store"
    assert results(empty_api.put("partners", items)) == [
        (0, "nul\x00key", "rejected", "field 'key' contains " + nul.format(4)),
        (1, "fine", "inserted", None),
        (2, "nul-name", "rejected", "field 'name' contains " + nul.format(2)),
        (3, "line\nbreak", "rejected", "field 'key' contains a line break at character 5"),
        (4, "multi-line-name", "inserted", None),
    ]
    with empty_api.engine.connect() as conn:
        stored = dict(conn.execute(select(Partner.key, Partner.name)).all())
    assert stored == {"fine": "F", "multi-line-name": "Acme\nJapan"}


def test_slack_ids_and_repeated_keys(empty_api):
    items = [
        {"key": "acme", "name": "Acme", "manager_slack_id": "U0MGR001", "cs_slack_id": "W012ABC"},
        {"key": "lower", "name": "Lower", "manager_slack_id": "u0mgr001"},
        {"key": "acme", "name": "Acme again"},
        {"key": "chan", "name": "Chan", "slack_channel_id": "c0abc"},
    ]
    assert results(empty_api.put("partners", items)) == [
        (0, "acme", "inserted", None),
        (1, "lower", "rejected", "manager_slack_id: not a Slack member id: 'u0mgr001' — Slack "
         "ids are upper case: 'U0MGR001' (expected U or W, then capital letters or digits, "
         "e.g. U0MGR001)"),
        (2, "acme", "rejected", "key 'acme' already appears at index 0 of this request"),
        (3, "chan", "rejected", "slack_channel_id: not a Slack channel id: 'c0abc' (expected C "
         "or G, then 2 to 31 capital letters or digits)"),
    ]  # fmt: skip
    users = [
        {"key": "u1", "partner_key": "acme", "slack_user_id": "U1000001001"},
        {"key": "u2", "partner_key": "acme", "slack_user_id": "alice@acme.example"},
        {"key": "u3", "partner_key": "acme", "nmae": "Typo"},
    ]
    assert results(empty_api.put("users", users)) == [
        (0, "u1", "inserted", None),
        (1, "u2", "rejected", "slack_user_id: not a Slack member id: 'alice@acme.example' — an "
         "email address, not a member id (expected U or W, then capital letters or digits, "
         "e.g. U0MGR001)"),
        (2, "u3", "rejected", "unknown field 'nmae': did you mean 'name'?"),
    ]  # fmt: skip
    assert partner_row(empty_api, "acme")[:3] == ("Acme", None, "U0MGR001")
