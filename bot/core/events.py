"""The event vocabulary: every event type the product stores, named once.

Kept in `core` because the store (its CHECK constraint), the importer, the KPI engine,
the API schema and the domain all speak it, and none of them should own it.
"""

from __future__ import annotations

LOGIN = "user.login"
DOWNLOAD = "content.downloaded"
TRAINING = "training.completed"
LEAD = "lead.registered"
DEAL = "deal.registered"
WON = "deal.won"
APPROVED = "deal.approved"
REJECTED = "deal.rejected"

# The spec's six kinds of partner activity (the default "active" set for retention).
ACTIVITY_TYPES: tuple[str, ...] = (LOGIN, DOWNLOAD, TRAINING, LEAD, DEAL, WON)
# Decisions on a deal registration, recorded by the bot: not partner activity, so they
# change none of the five KPIs.
DECISION_TYPES: tuple[str, ...] = (APPROVED, REJECTED)
EVENT_TYPES: tuple[str, ...] = ACTIVITY_TYPES + DECISION_TYPES
# A partner's program tier changed (a manager's Promote on the scorecard): the program's
# record, written by the bot only; neither activity nor importable.
TIER_CHANGED = "tier.changed"
# Events that carry no object (a login is of the portal, not of an asset or a deal).
NO_OBJECT_TYPES: frozenset[str] = frozenset({LOGIN})

ONBOARDING_TAG = "onboarding"
