"""Partner install links: signed, expiring, never mistaken for a content link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import links
from bot.domain.install_links import InstallLinkError, install_url, make_token, read_token

NOW = datetime(2026, 11, 1, 9, tzinfo=UTC)
SECRET = "s3cret-for-tests"


def test_a_link_names_its_partner_until_it_expires():
    token = make_token(SECRET, "acme", NOW + timedelta(days=7))
    link = read_token(SECRET, token, NOW + timedelta(days=6, hours=23))
    assert link.partner_key == "acme"
    with pytest.raises(InstallLinkError) as exc:
        read_token(SECRET, token, NOW + timedelta(days=7))
    assert exc.value.reason == "expired"


@pytest.mark.parametrize("key", ["acme", "株式会社アーティクル", "a.b/c?d=e&f"])
def test_any_key_survives_the_url(key):
    token = make_token(SECRET, key, NOW + timedelta(days=1))
    url = install_url("https://prm.example.com/", token)
    assert url.startswith("https://prm.example.com/slack/install?partner=")
    assert read_token(SECRET, token, NOW).partner_key == key


def test_a_changed_character_another_secret_or_a_content_link_is_invalid():
    token = make_token(SECRET, "acme", NOW + timedelta(days=1))
    payload = token.split(".")[1]
    forged = token.replace(payload, payload[:-1] + ("A" if payload[-1] != "A" else "B"))
    content = links.make_token(SECRET, "acme", "guide")
    for bad in (forged, token + "x", "", "i1..", content, "x" * 2000):
        with pytest.raises(InstallLinkError) as exc:
            read_token(SECRET, bad, NOW)
        assert exc.value.reason == "invalid"
    with pytest.raises(InstallLinkError):
        read_token("another-secret", token, NOW)


def test_no_secret_no_link():
    with pytest.raises(ValueError):
        make_token("", "acme", NOW)
