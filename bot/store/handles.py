"""The store's named table handles: the one way code outside the store reaches a table.

Only the KPI engine composes SQL over them (its aggregates are its reason to exist);
everything else calls a store function. The names say which table they are, so no two
modules alias the same letter to different tables.
"""

from __future__ import annotations

from bot.store.engine import table_of
from bot.store.tables import (
    Asset,
    AssetTag,
    Delivery,
    Event,
    Partner,
    PartnerFirstEvent,
    PartnerMonthActivity,
    PartnerUser,
    SlackTeam,
)

partners = table_of(Partner)
reps = table_of(PartnerUser)
events = table_of(Event)
first_events = table_of(PartnerFirstEvent)  # first time per partner and event type (trigger-kept)
month_activity = table_of(PartnerMonthActivity)  # per partner, month, type (trigger-kept)
assets = table_of(Asset)
asset_tags = table_of(AssetTag)
deliveries = table_of(Delivery)
slack_teams = table_of(SlackTeam)
