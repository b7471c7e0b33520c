"""The store's named table handles: the one way code outside the store reaches a table.

Only the KPI engine composes SQL over them (its aggregates are its reason to exist);
everything else calls a store function. The names say which table they are, so no two
modules alias the same letter to different tables.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import SQLModel

from bot.store.tables import (
    Asset,
    AssetTag,
    Delivery,
    Event,
    Partner,
    PartnerFirstEvent,
    PartnerUser,
)


def _table(model: type[SQLModel]) -> Table:
    """The model's Table; sqlmodel sets `__table__` on table=True models at class creation,
    which the type checker cannot see, so it is read from the class's namespace."""
    table = vars(model)["__table__"]
    assert isinstance(table, Table)
    return table


partners = _table(Partner)
reps = _table(PartnerUser)
events = _table(Event)
first_events = _table(PartnerFirstEvent)  # first time per partner and event type (trigger-kept)
assets = _table(Asset)
asset_tags = _table(AssetTag)
deliveries = _table(Delivery)
