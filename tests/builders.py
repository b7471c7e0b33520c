"""Hand-built fixtures: insert partners, users, assets and events straight into the store.

KPI tests state their data in a few lines and work the expected numbers out by hand.
Times are ISO strings with offsets; plain dates for signing and registration are stored as
dates (as the importer does), read in each report's zone.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select

from bot.core.timeutil import PLAIN_DATE, parse_instant
from bot.store.tables import Asset, AssetTag, Event, Partner, PartnerUser

UTC_ZONE = ZoneInfo("UTC")
_ids = count(1)


def _t(value: str | datetime | None, tz: ZoneInfo) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_instant(value, tz, allow_date=True)


def _at_or_on(value: str | datetime | None, tz: ZoneInfo) -> tuple[datetime | None, date | None]:
    """As the importer stores it: a plain date stays a date (read in the report's zone)."""
    if isinstance(value, str) and PLAIN_DATE.match(value):
        return None, date.fromisoformat(value)
    return _t(value, tz), None


class Store:
    """`Store(engine).partner("acme", signed="2026-01-01").user("acme-a", "acme", …)`"""

    def __init__(self, engine: Engine, tz: ZoneInfo = UTC_ZONE) -> None:
        self.engine = engine
        self.tz = tz

    def _id(self, model: type, key: str) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(select(model.id).where(model.key == key)).scalar_one()
        return int(found)

    def partner(
        self,
        key: str,
        signed: str | datetime | None = "2025-01-01",
        *,
        name: str | None = None,
        tier: str | None = None,
        manager: str | None = None,
        cs: str | None = None,
    ) -> Store:
        with self.engine.begin() as conn:
            conn.execute(
                insert(Partner).values(
                    key=key,
                    name=name or key.title(),
                    signed_at=_at_or_on(signed, self.tz)[0],
                    signed_on=_at_or_on(signed, self.tz)[1],
                    tier=tier,
                    manager_slack_id=manager,
                    cs_slack_id=cs,
                )
            )
        return self

    def user(
        self,
        key: str,
        partner: str,
        registered: str | datetime | None = "2025-01-01",
        *,
        slack_user_id: str | None = None,
        locale: str | None = None,
        name: str | None = None,
    ) -> Store:
        partner_id = self._id(Partner, partner)
        with self.engine.begin() as conn:
            conn.execute(
                insert(PartnerUser).values(
                    key=key,
                    partner_id=partner_id,
                    name=name or key,
                    email=f"{key}@example.com",
                    slack_user_id=slack_user_id,
                    registered_at=_at_or_on(registered, self.tz)[0],
                    registered_on=_at_or_on(registered, self.tz)[1],
                    locale=locale,
                )
            )
        return self

    def asset(self, key: str, *tags: str, title: str | None = None) -> Store:
        with self.engine.begin() as conn:
            asset_id = conn.execute(
                insert(Asset).values(key=key, title=title or key, url=f"https://x/{key}")
            ).inserted_primary_key[0]
            for tag in tags:
                conn.execute(insert(AssetTag).values(asset_id=asset_id, tag=tag))
        return self

    def event(
        self,
        type_: str,
        at: str | datetime,
        partner: str,
        user: str | None = None,
        obj: str | None = None,
        *,
        amount: Decimal | None = None,
        event_id: str | None = None,
    ) -> Store:
        partner_id = self._id(Partner, partner)
        user_id = self._id(PartnerUser, user) if user else None
        with self.engine.begin() as conn:
            conn.execute(
                insert(Event).values(
                    event_id=event_id or f"e{next(_ids)}",
                    occurred_at=_t(at, self.tz),
                    type=type_,
                    partner_id=partner_id,
                    user_id=user_id,
                    object_key=obj,
                    amount=amount,
                )
            )
        return self

    def events(
        self,
        type_: str,
        times: list[str],
        partner: str,
        user: str | None = None,
        obj: str | None = None,
    ) -> Store:
        for at in times:
            self.event(type_, at, partner, user, obj)
        return self
