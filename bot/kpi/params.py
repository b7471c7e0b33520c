"""What a KPI question is: as of when, over which period, for which partners.

Pure values, no I/O. Built once (from the CLI, Slack or a job) and handed to every KPI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.core import events
from bot.core.events import ACTIVITY_TYPES, EVENT_TYPES
from bot.core.timeutil import days_before
from bot.kpi.periods import span_before
from bot.kpi.program import Program, load_program

if TYPE_CHECKING:
    from bot.core.settings import Settings

DEFAULT_PERIOD_DAYS = 30
RETENTION_MONTHS: tuple[int, ...] = (3, 6, 12)
DORMANT_DAYS = 30


@dataclass(frozen=True)
class JourneyStep:
    """One journey step: "the partner has at least one X".

    `source` is `signed` (signed_at), `registered` (a user's registered_at) or an event type.
    """

    key: str
    source: str

    @property
    def event_type(self) -> str | None:
        return None if self.source in ("signed", "registered") else self.source


DEFAULT_JOURNEY: tuple[JourneyStep, ...] = (
    JourneyStep("signed", "signed"),
    JourneyStep("registered", "registered"),
    JourneyStep("logged_in", events.LOGIN),
    JourneyStep("content_downloaded", events.DOWNLOAD),
    JourneyStep("lead_registered", events.LEAD),
    JourneyStep("deal_registered", events.DEAL),
    JourneyStep("deal_won", events.WON),
)
DEFAULT_ACTIVE_TYPES: tuple[str, ...] = ACTIVITY_TYPES


def parse_journey(spec: str) -> tuple[JourneyStep, ...]:
    """`signed,registered,first_login=user.login,…`: a bare name is a default step or an
    event type; `key=source` names a step. The first step must be `signed`."""
    if not spec.strip():
        return DEFAULT_JOURNEY
    known = {s.key: s for s in DEFAULT_JOURNEY}
    steps: list[JourneyStep] = []
    for raw in (part.strip() for part in spec.split(",")):
        if not raw:
            continue
        key, _, source = raw.partition("=")
        key, source = key.strip(), source.strip()
        if not source:
            if key in known:
                steps.append(known[key])
                continue
            source = key
        if source not in ("signed", "registered", *EVENT_TYPES):
            raise ValueError(f"journey step {raw!r}: unknown source {source!r}")
        steps.append(JourneyStep(key, source))
    if not steps or steps[0].source != "signed":
        raise ValueError("the journey must start with the `signed` step")
    if len({s.key for s in steps}) != len(steps):
        raise ValueError("journey step keys must be unique")
    return tuple(steps)


def parse_active_types(spec: str) -> tuple[str, ...]:
    if not spec.strip():
        return DEFAULT_ACTIVE_TYPES
    types = tuple(dict.fromkeys(t.strip() for t in spec.split(",") if t.strip()))
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown or not types:
        raise ValueError(f"unknown active event types: {', '.join(unknown) or '(none given)'}")
    return types


@dataclass(frozen=True)
class Scope:
    """Narrows the cohort. Every given filter applies (AND). `signed_to` is exclusive."""

    partner_key: str | None = None
    manager_slack_id: str | None = None
    # A person's book in Slack: partners they manage or look after as CS (either column).
    member_slack_id: str | None = None
    cs_slack_id: str | None = None
    tier: str | None = None
    signed_from: datetime | None = None
    signed_to: datetime | None = None


@dataclass(frozen=True)
class KpiParams:
    as_of: datetime
    period_from: datetime
    period_to: datetime
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    scope: Scope = field(default_factory=Scope)
    journey: tuple[JourneyStep, ...] = DEFAULT_JOURNEY
    active_types: tuple[str, ...] = DEFAULT_ACTIVE_TYPES
    coaching_min_leads: int = 10
    coaching_ratio: float = 0.5
    program: Program = field(default_factory=load_program)
    holdout_share: float = 0.1  # PRM_HOLDOUT_SHARE: the nudge experiment's control arm

    def __post_init__(self) -> None:
        for name in ("as_of", "period_from", "period_to"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.period_from >= self.period_to:
            raise ValueError("the period must start before it ends (from < to)")

    @classmethod
    def build(
        cls,
        *,
        as_of: datetime | None = None,
        period_from: datetime | None = None,
        period_to: datetime | None = None,
        last: str | None = None,
        tz: ZoneInfo | None = None,
        scope: Scope | None = None,
        journey: tuple[JourneyStep, ...] = DEFAULT_JOURNEY,
        active_types: tuple[str, ...] = DEFAULT_ACTIVE_TYPES,
        coaching_min_leads: int = 10,
        coaching_ratio: float = 0.5,
        program: Program | None = None,
        holdout_share: float = 0.1,
    ) -> KpiParams:
        """Fill the spec's defaults: as_of = now, to = as_of, from = to − 30 days.

        `last` ("30d", "12w", "3m") sets from = to − that span; it excludes `period_from`.
        """
        tz = tz or ZoneInfo("UTC")
        as_of = (as_of or next_whole_second(datetime.now(UTC))).astimezone(UTC)
        to = (period_to or as_of).astimezone(UTC)
        if last is not None:
            if period_from is not None:
                raise ValueError("give either --from or --last, not both")
            start = span_before(to, last, tz)
        elif period_from is not None:
            start = period_from.astimezone(UTC)
        else:
            start = days_before(to, DEFAULT_PERIOD_DAYS, tz)
        return cls(
            as_of=as_of,
            period_from=start,
            period_to=to,
            tz=tz,
            scope=scope or Scope(),
            journey=journey,
            active_types=active_types,
            coaching_min_leads=coaching_min_leads,
            coaching_ratio=coaching_ratio,
            program=program or load_program(),
            holdout_share=holdout_share,
        )


def next_whole_second(instant: datetime) -> datetime:
    """The default as_of: "now", shown in whole seconds but rounded up, so that an event
    recorded a moment ago (strictly before as_of) is already counted."""
    whole = instant.replace(microsecond=0)
    return whole if whole == instant else whole + timedelta(seconds=1)


def params_from_settings(settings: Settings, **question: Any) -> KpiParams:
    """`KpiParams.build` with the configured zone, journey, activity types and coaching
    thresholds; `question` carries what the asker chose (as_of, period, scope).

    Every front end (CLI, demo, Slack, jobs) builds its parameters here, so a setting means
    the same thing everywhere. Raises ValueError for a bad setting or question.
    """
    return KpiParams.build(
        tz=settings.tz,
        journey=parse_journey(settings.journey_steps),
        active_types=parse_active_types(settings.active_event_types),
        coaching_min_leads=settings.coaching_min_leads,
        coaching_ratio=settings.coaching_ratio,
        program=load_program(settings.program or None),
        holdout_share=settings.holdout_share,
        **question,
    )
