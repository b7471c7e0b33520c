"""`GET /api/v1/kpi`: the query string becomes what `prm kpi … --format json` would print.

The steps are the CLI's (bot/cli/kpi_cmd.py), in the same order and with the same helpers:
times read by `parse_user_instant` in the reporting zone, `params_from_settings`, then
`check_scope`, then `build_report_concurrently` for `all` or `compute` for one KPI. Two
differences, both for HTTP's sake: the default `as_of` is the app's clock (PRM_AS_OF when
set, like the Slack app), and an empty parameter (`?partner=`) counts as absent.

Inputs a person would never mean are refused with a 400 before they reach the engine: times
outside the years 1900–2999 (calendar arithmetic there overflows Python's dates), text with
NUL characters (PostgreSQL cannot compare them), names longer than `MAX_TEXT`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from bot.core.settings import Settings
from bot.core.timeutil import TimeParseError, parse_user_instant
from bot.kpi import KPI_NAMES, KpiParams, Scope, compute
from bot.kpi.lookup import EmptyStoreError, ScopeError, check_scope
from bot.kpi.params import params_from_settings
from bot.kpi.registry import EXTRA_KPIS, build_report_concurrently
from bot.web.api.errors import ApiError

KPI_CHOICES: tuple[str, ...] = ("all", *KPI_NAMES, *EXTRA_KPIS)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
MAX_TEXT = 256  # longer than any partner key, Slack id or tier the store can hold
EMPTY_STORE_HINT = " (over HTTP: PUT /api/v1/partners, then users, assets, POST events)"


@dataclass(frozen=True)
class KpiQuery:
    """The query parameters, as sent (strings); `period_from`/`period_to` are `from`/`to`."""

    kpi: str = "all"
    as_of: str | None = None
    period_from: str | None = None
    period_to: str | None = None
    last: str | None = None
    partner: str | None = None
    manager: str | None = None
    tier: str | None = None
    signed_from: str | None = None
    signed_to: str | None = None


def _text(name: str, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if "\x00" in value:
        raise ApiError(400, f"{name}: must not contain NUL characters")
    if len(value) > MAX_TEXT:
        raise ApiError(400, f"{name}: too long ({len(value)} characters, at most {MAX_TEXT})")
    return value


def _in_range(name: str, value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ApiError(400, f"{name}: out of range (use a time in the years 1900 to 2999)")
    return value


def _instant(name: str, value: str | None, settings: Settings) -> datetime | None:
    text = _text(name, value)
    if text is None:
        return None
    try:
        instant = parse_user_instant(text, settings.tz)
    except TimeParseError as exc:
        raise ApiError(400, f"{name}: {exc}") from None
    except (OverflowError, ValueError):  # a valid date that cannot be moved to UTC
        raise ApiError(
            400, f"{name}: out of range (use a time in the years 1900 to 2999)"
        ) from None
    return _in_range(name, instant)


def build_params(query: KpiQuery, settings: Settings, clock: Callable[[], datetime]) -> KpiParams:
    """`KpiParams` as `prm kpi` builds them from the same flags; ApiError 400 when invalid."""
    if query.kpi not in KPI_CHOICES:
        raise ApiError(
            400, f"kpi: unknown KPI {query.kpi!r}: choose one of {', '.join(KPI_CHOICES)}"
        )
    as_of = _instant("as_of", query.as_of, settings)
    try:
        params = params_from_settings(
            settings,
            as_of=as_of or clock(),
            period_from=_instant("from", query.period_from, settings),
            period_to=_instant("to", query.period_to, settings),
            last=_text("last", query.last),
            scope=Scope(
                partner_key=_text("partner", query.partner),
                manager_slack_id=_text("manager", query.manager),
                tier=_text("tier", query.tier),
                signed_from=_instant("signed_from", query.signed_from, settings),
                signed_to=_instant("signed_to", query.signed_to, settings),
            ),
        )
    except (OverflowError, ValueError) as exc:
        message = str(exc).replace("--from", "from").replace("--last", "last")
        raise ApiError(400, message) from None
    _in_range("from", params.period_from)
    _in_range("as_of", params.as_of)
    return params


def kpi_payload(
    engine: Engine, query: KpiQuery, settings: Settings, clock: Callable[[], datetime]
) -> dict[str, Any]:
    """The whole report for `all`, else the one KPI's object: `prm kpi`'s JSON, exactly.

    An unknown partner, manager or tier, or a store without partners, is ApiError 404 with
    `check_scope`'s message (which suggests the closest names).
    """
    params = build_params(query, settings, clock)
    try:
        with engine.connect() as conn:
            try:
                check_scope(conn, params.scope)
            except EmptyStoreError as exc:
                raise ApiError(404, str(exc) + EMPTY_STORE_HINT) from None
            except ScopeError as exc:
                raise ApiError(404, str(exc)) from None
            if query.kpi != "all":
                return compute(query.kpi, conn, params)
        return build_report_concurrently(engine, params)
    except (OverflowError, ValueError) as exc:  # calendar arithmetic at the edges of time
        raise ApiError(400, f"cannot compute the report for these dates: {exc}") from None
