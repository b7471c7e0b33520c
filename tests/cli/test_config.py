"""Configuration mistakes get one clear line and exit 2, never a traceback."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PRM_DATABASE_URL": "nonsense"}, "bad PRM_DATABASE_URL 'nonsense'"),
        ({"PRM_DATABASE_URL": ""}, "bad PRM_DATABASE_URL"),
        ({"PRM_DATABASE_URL": "mysql://x@localhost/db"}, "bad PRM_DATABASE_URL"),
        ({"PRM_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}, "cannot open the database"),
        ({"PRM_TIMEZONE": "Mars/Base"}, "PRM_TIMEZONE"),
    ],
)
def test_bad_configuration_is_one_line(cli, env: dict[str, str], message: str) -> None:
    result = cli("kpi", env=env)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_secrets_in_urls_are_not_printed(cli) -> None:
    result = cli("kpi", env={"PRM_DATABASE_URL": "postgresql://u:s3cret@127.0.0.1:1/x"})
    assert result.exit_code == 2
    assert "s3cret" not in result.output
