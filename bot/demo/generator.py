"""A believable partner program, written as the four exchange files of kpi-spec.md.

Why a simulation and not random rows: every KPI needs a shape to show. Partners sign over
the 18 months before `end`, drop off at every journey step (fewer log in than register,
fewer register deals than leads …), some go dormant months before `end`, some skip whole
months (so 3/6/12-month retention differs), and reps vary from idle to prolific. One
partner always carries the article's reps A (18 leads, 8 deals) and B (22 leads, 3 deals)
inside the 30 days before `end`, so the worked example is on screen in every demo.

Deterministic: the output depends only on (partners, seed, end, format). Each partner has
its own random stream, seeded from (seed, index), and is written as soon as it is
simulated, so 10,000 partners (≈ 5M events) never sit in memory at once.

Everything written is valid by default; a few rows carry realistic edges: quoted names
with commas, Japanese text, plain dates and timestamps mixed, offsets +09:00 / +00:00 / Z,
fractional seconds, empty optional cells, invited users without `registered_at`, a partner
without users, assets nobody opens, an event exactly at the period start and one exactly
at `end` (which an as-of-`end` report must not count).

Slack: every fifth partner (index 0, 5, 10 …; never the article's) has a shared channel,
`slack_channel_id` = `C0PARTNER` + its index (`C0PARTNER005`), a column the importer accepts
beyond the spec's format (docs/import.md). Some reps anywhere never linked a Slack account,
and in a partner with a shared channel every third rep (the 2nd, 5th, 8th …) has none, so
nudges to a partner's channel always have someone to be about. Neither costs a random draw:
every other value is the same as without them.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Protocol

from bot.core.events import DEAL, DOWNLOAD, LEAD, LOGIN, TRAINING, WON
from bot.demo.catalogue import (
    ASSETS,
    COURSES,
    CS_OWNERS,
    EN_COMPANY_A,
    EN_COMPANY_B,
    EN_COMPANY_SUFFIX,
    EN_FIRST,
    EN_LAST,
    JA_COMPANY,
    JA_FAMILY,
    JA_GIVEN,
    MANAGERS,
    TIERS,
)

FORMATS: tuple[str, ...] = ("csv", "jsonl")

# The spec's exchange headers, in import order (users need partners, events need all).
HEADERS: dict[str, tuple[str, ...]] = {
    # slack_channel_id goes beyond the spec's header: the importer's extension, docs/import.md
    "partners": (
        "key",
        "name",
        "signed_at",
        "tier",
        "manager_slack_id",
        "cs_slack_id",
        "slack_channel_id",
    ),
    "users": ("key", "partner_key", "name", "email", "slack_user_id", "registered_at", "locale"),
    "assets": ("key", "title", "url", "tags"),
    "events": (
        "event_id",
        "occurred_at",
        "type",
        "partner_key",
        "user_key",
        "object_key",
        "amount",
    ),
}
KINDS: tuple[str, ...] = tuple(HEADERS)

DEFAULT_SEED = 20260401
EVENTS_PER_PARTNER = 500  # the calibration target; see `_SCALE`

ARTICLE_PARTNER_KEY = "p-article"
REP_A_KEY = "p-article-rep-a"
REP_B_KEY = "p-article-rep-b"
SHARED_CHANNEL_EVERY = 5  # every fifth partner has a shared Slack channel
SHARED_CHANNEL_PREFIX = "C0PARTNER"
# (lead.registered, deal.registered), all inside the 30 days before `end`.
ARTICLE_REPS: dict[str, tuple[int, int]] = {REP_A_KEY: (18, 8), REP_B_KEY: (22, 3)}


DAY = 86_400
HISTORY_DAYS = 548  # 18 months of signings before `end`
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_OFFSETS = {0: "+00:00", 9 * 3600: "+09:00"}

# Journey steps after `signed`, as (event type or None for `registered`, chance to go on).
_JOURNEY: tuple[tuple[str | None, float], ...] = (
    (None, 0.93),
    (LOGIN, 0.94),
    (DOWNLOAD, 0.88),
    (LEAD, 0.74),
    (DEAL, 0.72),
    (WON, 0.78),
)
_DEPTH_OF: dict[str, int] = {LOGIN: 2, TRAINING: 2, DOWNLOAD: 3, LEAD: 4, DEAL: 5, WON: 6}
FULL_DEPTH = len(_JOURNEY)


@dataclass(frozen=True)
class _TierProfile:
    reps: float  # typical number of reps
    activity: float  # multiplies every rep's event rate
    dropout: float  # multiplies the chance to stop at each journey step


_PROFILES: dict[str, _TierProfile] = {
    "platinum": _TierProfile(30.0, 1.5, 0.35),
    "gold": _TierProfile(16.0, 1.25, 0.6),
    "silver": _TierProfile(9.5, 1.0, 1.0),
    "registered": _TierProfile(5.0, 0.75, 1.3),
}

# Events per engaged rep per 30 days, before tier and engagement multipliers.
_RATES: dict[str, float] = {LOGIN: 4.0, DOWNLOAD: 1.0, TRAINING: 0.2, LEAD: 1.8}
# A lead becomes a deal 2–40 days later with this chance times the rep's skill (capped).
_CONVERSION = 0.33
_MAX_CONVERSION = 0.9
_SCALE = 1.22  # calibrated: ≈ EVENTS_PER_PARTNER events per partner on average
_WIN_CHANCE = 0.35


@dataclass(frozen=True)
class GenerationSummary:
    """What was written, for people and for the benchmark's cache."""

    out_dir: Path
    format: str
    seed: int
    end: datetime
    counts: dict[str, int]
    files: dict[str, Path]

    def describe(self) -> str:
        parts = ", ".join(f"{self.counts[k]:,} {k}" for k in KINDS)
        return f"wrote {parts} ({self.format}) to {self.out_dir}"


@dataclass
class _Rep:
    key: str
    reg_day: int | None  # local day number; None = invited, never registered
    engagement: float
    stop_day: int
    skill: float = 1.0  # multiplies the lead-to-deal chance: conversion differs between reps


@dataclass
class _PartnerSim:
    """One partner's rows; events are (utc seconds, type, user, object, amount, offset)."""

    row: tuple[str, ...]
    users: list[tuple[str, ...]] = field(default_factory=list)
    events: list[tuple[int, str, str, str, str, int]] = field(default_factory=list)


class _Writer(Protocol):
    def write(self, rows: list[tuple[str, ...]]) -> None: ...


class _CsvWriter:
    def __init__(self, fh: IO[str], header: tuple[str, ...]) -> None:
        self._w = csv.writer(fh, lineterminator="\n")
        self._w.writerow(header)

    def write(self, rows: list[tuple[str, ...]]) -> None:
        self._w.writerows(rows)


class _JsonlWriter:
    """JSON Lines with the CSV field names; empty cells become null, amounts numbers."""

    def __init__(self, fh: IO[str], header: tuple[str, ...]) -> None:
        self._fh = fh
        self._header = header

    def write(self, rows: list[tuple[str, ...]]) -> None:
        out = []
        for row in rows:
            obj: dict[str, object] = {}
            for name, value in zip(self._header, row, strict=True):
                if value == "":
                    obj[name] = None
                elif name == "amount":
                    obj[name] = int(value) if value.isdigit() else float(value)
                else:
                    obj[name] = value
            out.append(json.dumps(obj, ensure_ascii=False))
        self._fh.write("\n".join(out) + "\n" if out else "")


@contextmanager
def _open_writers(out_dir: Path, fmt: str) -> Iterator[tuple[dict[str, _Writer], dict[str, Path]]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        writers: dict[str, _Writer] = {}
        paths: dict[str, Path] = {}
        for kind, header in HEADERS.items():
            paths[kind] = out_dir / f"{kind}.{fmt}"
            fh = stack.enter_context(
                paths[kind].open("w", encoding="utf-8", newline="", buffering=1 << 20)
            )
            writers[kind] = _CsvWriter(fh, header) if fmt == "csv" else _JsonlWriter(fh, header)
        yield writers, paths


def generate(
    out_dir: Path | str,
    *,
    partners: int,
    end: datetime,
    seed: int = DEFAULT_SEED,
    fmt: str = "csv",
) -> GenerationSummary:
    """Write partners/users/assets/events files for `partners` partners into `out_dir`.

    `end` is the export instant: no event lies after it (one lies exactly on it).
    """
    if partners < 1:
        raise ValueError("partners must be at least 1")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("end must be timezone-aware")
    out = Path(out_dir)
    end_ts = math.floor(end.timestamp())
    counts = dict.fromkeys(KINDS, 0)
    width = max(5, len(str(partners)))
    with _open_writers(out, fmt) as (writers, paths):
        writers["assets"].write([(a.key, a.title, a.url, ";".join(a.tags)) for a in ASSETS])
        counts["assets"] = len(ASSETS)
        seq = 0
        for index in range(partners):
            rng = random.Random(f"prm-demo:{seed}:{index}")
            key = ARTICLE_PARTNER_KEY if _is_article(index, partners) else f"p{index:0{width}d}"
            sim = _simulate_partner(rng, index, partners, key, end_ts)
            writers["partners"].write([sim.row])
            writers["users"].write(sim.users)
            sim.events.sort()
            rows: list[tuple[str, ...]] = []
            for ts, type_, user, obj, amount, offset in sim.events:
                seq += 1
                rows.append(
                    (f"ev-{seq:09d}", _stamp(ts, offset, seq), type_, key, user, obj, amount)
                )
            writers["events"].write(rows)
            counts["partners"] += 1
            counts["users"] += len(sim.users)
        counts["events"] = seq
    return GenerationSummary(out, fmt, seed, end, counts, paths)


def _is_article(index: int, partners: int) -> bool:
    return partners >= 2 and index == 1


def _stamp(ts: int, offset: int, seq: int) -> str:
    """ISO-8601 with the writer's offset; one event in a thousand has fractional seconds
    and (when in UTC) a `Z`, as some exporters write them."""
    day, sod = divmod(ts + offset, DAY)
    hour, rest = divmod(sod, 3600)
    minute, second = divmod(rest, 60)
    frac = ".250" if seq % 1000 == 999 else ""
    suffix = "Z" if offset == 0 and seq % 1000 == 500 else _OFFSETS[offset]
    return f"{_day_text(day)}T{hour:02d}:{minute:02d}:{second:02d}{frac}{suffix}"


@lru_cache(maxsize=4096)
def _day_text(day: int) -> str:
    return date.fromordinal(day + _EPOCH_ORDINAL).isoformat()


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth for small means, a rounded normal for large ones: cheap and good enough."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _pick_tier(rng: random.Random) -> str:
    u, acc = rng.random(), 0.0
    for tier, share in TIERS:
        acc += share
        if u < acc:
            return tier
    return TIERS[-1][0]


def _business_time(rng: random.Random, first_day: int, days: int, offset: int) -> int:
    """A UTC instant on a local working day in [first_day, first_day + days), 08:00–18:00."""
    day = first_day + int(rng.random() * days)
    weekday = (day + 3) % 7  # epoch day 0 was a Thursday; Monday = 0
    if weekday >= 5 and rng.random() < 0.85:
        friday = day - (weekday - 4)
        day = friday if friday >= first_day else day + (7 - weekday)
    return day * DAY + 28_800 + int(rng.random() * 36_000) - offset


def _amount(rng: random.Random, ja: bool, big: bool) -> str:
    base = rng.lognormvariate(math.log(1_200_000 if ja else 12_000), 0.7) * (1 if big else 0.4)
    if ja:
        return str(int(round(base, -4)))
    return f"{base:.2f}"


@dataclass
class _PartnerShape:
    """The partner-level choices that the per-rep simulation reads."""

    key: str
    ja: bool
    tier: str
    signed_day: int
    depth: int
    stop_day: int  # exclusive: dormant partners stop long before `end`
    gap_blocks: frozenset[int]  # 30-day blocks (counted back from `end`) with no activity
    offset: int  # local offset for app events
    crm_offset: int  # offset the CRM sync writes lead/deal events in
    n_reps: int
    article: bool = False
    channel: str = ""  # the shared Slack channel's id, or "" for none


def _shape(rng: random.Random, index: int, partners: int, key: str, end_day: int) -> _PartnerShape:
    ja = rng.random() < 0.55
    tier = _pick_tier(rng)
    age = 1 + int(rng.random() * HISTORY_DAYS)
    article = key == ARTICLE_PARTNER_KEY
    if article:
        ja, tier, age = True, "gold", 400
    elif index == 0 and partners >= 2:
        age = 3  # the partner signed this week: registered and logged in, nothing more yet
    profile = _PROFILES[tier]
    depth = 0
    for step, (_type, go_on) in enumerate(_JOURNEY, start=1):
        dropout = (1 - go_on) * profile.dropout
        if step >= 3 and age < 60:
            dropout *= 1 + (60 - age) / 15  # young partners have not got that far yet
        if rng.random() >= 1 - min(dropout, 0.98):
            break
        depth = step
    if article:
        depth = FULL_DEPTH
    elif index == 0 and partners >= 2:
        depth = 2
    elif partners >= 5 and index in (2, 3):
        depth = 0  # one partner without users, one whose invitees never registered
    signed_day = end_day - age
    stop_day = end_day + 1
    if not article and age > 150 and rng.random() < 0.16:
        stop_day = end_day - rng.randint(45, min(age - 60, 330))
    u = rng.random()
    gap_chance = 0.0 if u < 0.45 or article else 0.08 if u < 0.75 else 0.22 if u < 0.92 else 0.4
    gaps = frozenset(b for b in range(age // 30 + 1) if rng.random() < gap_chance)
    offset = 9 * 3600 if ja else 0
    crm_offset = 0 if (not ja or rng.random() < 0.5) else offset
    n_reps = max(1, round(rng.lognormvariate(math.log(profile.reps), 0.45)))
    if article:
        n_reps = 12
    return _PartnerShape(
        key,
        ja,
        tier,
        signed_day,
        depth,
        stop_day,
        gaps,
        offset,
        crm_offset,
        n_reps,
        article,
        "" if article else shared_channel(index),
    )


def shared_channel(index: int) -> str:
    """The made-up shared channel of partner `index`, or "" (no random draw: see above)."""
    if index % SHARED_CHANNEL_EVERY:
        return ""
    return f"{SHARED_CHANNEL_PREFIX}{index:03d}"


def _partner_name(rng: random.Random, index: int, partners: int, ja: bool, article: bool) -> str:
    if article:
        return "株式会社アーティクル (article example)"
    if partners >= 5 and index == 4:
        return 'Nakamura "Blue Sky" Systems, Inc.'  # quotes and a comma: CSV quoting
    if ja:
        return f"株式会社{rng.choice(JA_COMPANY)}{index}"
    suffix = rng.choice(EN_COMPANY_SUFFIX)
    name = f"{rng.choice(EN_COMPANY_A)} {rng.choice(EN_COMPANY_B)} {index}"
    return f"{name} {suffix}".strip()


def _simulate_partner(
    rng: random.Random, index: int, partners: int, key: str, end_ts: int
) -> _PartnerSim:
    end_day = end_ts // DAY
    shape = _shape(rng, index, partners, key, end_day)
    signed = _day_text(shape.signed_day)
    if rng.random() < 0.1:  # some CRMs export the signing as a timestamp
        signed = f"{signed}T{rng.randint(9, 17):02d}:00:00{_OFFSETS[shape.offset]}"
    cs = "" if rng.random() < 0.05 else rng.choice(CS_OWNERS)
    row = (
        key,
        _partner_name(rng, index, partners, shape.ja, shape.article),
        signed,
        shape.tier,
        rng.choice(MANAGERS),
        cs,
        shape.channel,
    )
    sim = _PartnerSim(row)
    if shape.depth == 0 and index == 2 and partners >= 5:
        return sim  # signed, never onboarded: no users at all
    reps = _make_reps(rng, shape, index, end_day, sim)
    if shape.depth >= 2:
        _simulate_activity(rng, shape, reps, end_ts, sim)
    if shape.article:
        _article_events(rng, shape, end_ts, sim)
    return sim


def _make_reps(
    rng: random.Random, shape: _PartnerShape, index: int, end_day: int, sim: _PartnerSim
) -> list[_Rep]:
    """Users rows; registration staggered from just after signing to (almost) `end`."""
    reps: list[_Rep] = []
    last_day = min(shape.stop_day, end_day) - 1
    # The first account a day to three weeks after signing (sooner for very new partners).
    delay = rng.random() * min(20, (last_day - shape.signed_day) / 2)
    first_reg = shape.signed_day + 1 + int(delay)
    n = shape.n_reps if shape.depth >= 1 else rng.randint(1, 3)
    for j in range(n):
        if shape.article and j < 2:
            rep_key = (REP_A_KEY, REP_B_KEY)[j]
        else:
            rep_key = f"{shape.key}-u{j + 1:03d}"
        if shape.depth == 0 or rng.random() < 0.04:
            reg_day = None  # invited, never registered: a user but not a rep
        elif j == 0 or (shape.article and j < 2):
            reg_day = first_reg if not shape.article else end_day - 300
        else:
            span = max(last_day - first_reg, 0)
            reg_day = first_reg + int(rng.random() ** 1.6 * (span + 1))
        engagement = rng.lognormvariate(0.0, 0.9) * (0.15 if rng.random() < 0.2 else 1.0)
        stop = shape.stop_day
        if reg_day is not None and rng.random() < 0.12:  # left the company
            stop = min(stop, reg_day + 1 + int(rng.random() * max(stop - reg_day, 1)))
        skill = rng.lognormvariate(0.0, 0.5)
        reps.append(_Rep(rep_key, reg_day, engagement, stop, skill))
        sim.users.append(_user_row(rng, shape, rep_key, index, j, reg_day))
    return reps


def _user_row(
    rng: random.Random,
    shape: _PartnerShape,
    rep_key: str,
    index: int,
    j: int,
    reg_day: int | None,
) -> tuple[str, ...]:
    ja_person = shape.ja != (rng.random() < 0.1)
    if rep_key == REP_A_KEY:
        name, local = "Aさん (rep A)", "rep.a"
    elif rep_key == REP_B_KEY:
        name, local = "Bさん (rep B)", "rep.b"
    elif ja_person:
        (family, family_r), (given, given_r) = rng.choice(JA_FAMILY), rng.choice(JA_GIVEN)
        name, local = f"{family} {given}", f"{given_r}.{family_r}{j + 1}"
    else:
        first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
        name, local = f"{first} {last}", f"{first}.{last.replace(chr(39), '')}{j + 1}".lower()
    if rng.random() < 0.03:
        local += "+prm"
    email = f"{local}@{shape.key}.example.com"
    # Unique by construction (the bot maps Slack users back to reps); some never linked.
    slack = "" if rng.random() < 0.08 else f"U1{index:06d}{j:03d}"
    if shape.channel and j % 3 == 1:
        slack = ""  # nudged in the partner's shared channel (the draw above is still made)
    if reg_day is None:
        registered = ""
    elif rng.random() < 0.2:
        hour = rng.randint(9, 17)
        registered = f"{_day_text(reg_day)}T{hour:02d}:{rng.randint(0, 59):02d}:00"
        registered += _OFFSETS[shape.offset]
    else:
        registered = _day_text(reg_day)
    roll = rng.random()
    locale = "" if roll < 0.03 else ("ja" if ja_person else "en")
    return (rep_key, shape.key, name, email, slack, registered, locale)


def _simulate_activity(
    rng: random.Random, shape: _PartnerShape, reps: list[_Rep], end_ts: int, sim: _PartnerSim
) -> None:
    """Poisson counts per rep and type over the rep's active days, minus gap months; deals
    grow out of leads, wins out of deals, so conversion stays believable."""
    profile = _PROFILES[shape.tier]
    end_day = end_ts // DAY
    onboarding = [a for a in ASSETS if a.onboarding]
    weights = [a.weight for a in ASSETS]
    lead_seq = deal_seq = 0
    out = sim.events
    active = [r for r in reps if r.reg_day is not None]
    for rep in active:
        assert rep.reg_day is not None
        first = rep.reg_day + 1  # activity starts the day after the account exists
        days = min(rep.stop_day, end_day + 1) - first
        if days <= 0:
            continue
        months = days / 30
        mult = rep.engagement * profile.activity * _SCALE
        for type_, rate in _RATES.items():
            if _DEPTH_OF[type_] > shape.depth:
                continue
            if shape.article and rep.key in ARTICLE_REPS and type_ == LEAD:
                continue  # A and B get exactly the article's numbers, below
            for _ in range(_poisson(rng, rate * mult * months)):
                offset = shape.crm_offset if type_ == LEAD else shape.offset
                ts = _business_time(rng, first, days, offset)
                if ts >= end_ts or _in_gap(shape, ts, end_ts):
                    continue
                if type_ == DOWNLOAD:
                    asset_key = rng.choices(ASSETS, weights)[0].key
                    out.append((ts, type_, rep.key, asset_key, "", offset))
                elif type_ == LEAD:
                    lead_seq += 1
                    amount = _amount(rng, shape.ja, False) if rng.random() < 0.4 else ""
                    out.append((ts, type_, rep.key, f"L-{shape.key}-{lead_seq}", amount, offset))
                    conversion = min(_CONVERSION * rep.skill, _MAX_CONVERSION)
                    if shape.depth >= _DEPTH_OF[DEAL] and rng.random() < conversion:
                        deal_ts = ts + int((2 + rng.random() * 38) * DAY)
                        if deal_ts < min(end_ts, rep.stop_day * DAY):
                            deal_seq += 1
                            _deal(
                                rng, shape, rep, deal_ts, f"D-{shape.key}-{deal_seq}", end_ts, out
                            )
                elif type_ == TRAINING:
                    out.append((ts, type_, rep.key, rng.choice(COURSES), "", offset))
                else:
                    out.append((ts, type_, rep.key, "", "", offset))
        if shape.depth >= 3 and rng.random() < 0.6:  # first-fortnight onboarding reading
            for asset in rng.sample(onboarding, rng.randint(1, 3)):
                ts = _business_time(rng, first, min(days, 14), shape.offset)
                if ts < end_ts:
                    out.append((ts, DOWNLOAD, rep.key, asset.key, "", shape.offset))
    _ensure_depth(rng, shape, active, end_ts, out)


def _deal(
    rng: random.Random,
    shape: _PartnerShape,
    rep: _Rep,
    ts: int,
    deal_id: str,
    end_ts: int,
    out: list[tuple[int, str, str, str, str, int]],
) -> None:
    """A deal registration and, for some, its win 10–120 days later (if before `end`)."""
    amount = _amount(rng, shape.ja, True) if rng.random() < 0.85 else ""
    out.append((ts, DEAL, rep.key, deal_id, amount, shape.crm_offset))
    if shape.depth >= 6 and rng.random() < _WIN_CHANCE:
        won = ts + int((10 + rng.random() * 110) * DAY)
        if won < end_ts and won < rep.stop_day * DAY:
            out.append((won, WON, rep.key, deal_id, amount, shape.crm_offset))


def _in_gap(shape: _PartnerShape, ts: int, end_ts: int) -> bool:
    return (end_ts - ts) // (30 * DAY) in shape.gap_blocks


def _ensure_depth(
    rng: random.Random,
    shape: _PartnerShape,
    active: list[_Rep],
    end_ts: int,
    out: list[tuple[int, str, str, str, str, int]],
) -> None:
    """A partner meant to reach step k has at least one event of each step ≤ k, even when
    the Poisson draws came out empty (quiet reps, short history)."""
    present = {e[1] for e in out}
    candidates = [r for r in active if r.reg_day is not None and r.reg_day + 1 < end_ts // DAY]
    if not candidates:
        return
    for type_ in (LOGIN, DOWNLOAD, LEAD, DEAL, WON):
        if _DEPTH_OF[type_] > shape.depth or type_ in present:
            continue
        rep = rng.choice(candidates)
        assert rep.reg_day is not None
        first = rep.reg_day + 1
        days = max(min(rep.stop_day, end_ts // DAY) - first, 1)
        offset = shape.crm_offset if type_ in (LEAD, DEAL, WON) else shape.offset
        ts = min(_business_time(rng, first, days, offset), end_ts - 3600)
        if type_ == WON:
            deal = next((e for e in out if e[1] == DEAL), None)
            obj = deal[3] if deal else f"D-{shape.key}-won"
            ts = max(ts, deal[0] + 3600) if deal else ts
            ts = min(ts, end_ts - 60)
            out.append((ts, WON, rep.key, obj, "", offset))
        elif type_ == DOWNLOAD:
            out.append((ts, type_, rep.key, ASSETS[1].key, "", offset))
        elif type_ == LEAD:
            out.append((ts, type_, rep.key, f"L-{shape.key}-first", "", offset))
        elif type_ == DEAL:
            out.append((ts, type_, rep.key, f"D-{shape.key}-first", "", offset))
        else:
            out.append((ts, type_, rep.key, "", "", offset))


def _article_events(
    rng: random.Random, shape: _PartnerShape, end_ts: int, sim: _PartnerSim
) -> None:
    """The article's reps A and B: exact lead and deal counts in the last 29 days, plus
    two boundary events (exactly 30 days before `end`, and exactly at `end`)."""
    lo, hi = end_ts - 29 * DAY, end_ts - 3600
    for rep_key, (leads, deals) in ARTICLE_REPS.items():
        tag = rep_key[-1].upper()
        for type_, count in ((LEAD, leads), (DEAL, deals)):
            for n in range(1, count + 1):
                ts = _business_time(rng, end_ts // DAY - 28, 28, shape.crm_offset)
                while not lo <= ts < hi:
                    ts = lo + int(rng.random() * (hi - lo))
                prefix = "L" if type_ == LEAD else "D"
                amount = _amount(rng, True, type_ == DEAL)
                obj = f"{prefix}-{shape.key}-{tag}{n}"
                sim.events.append((ts, type_, rep_key, obj, amount, shape.crm_offset))
    # Boundary edges: the period is [end − 30 days, end); an as-of-`end` report counts the
    # first and not the second.
    sim.events.append((end_ts - 30 * DAY, DOWNLOAD, REP_B_KEY, ASSETS[0].key, "", 0))
    sim.events.append((end_ts, LOGIN, REP_A_KEY, "", "", 0))


def end_of_minute_before(now: datetime | None = None) -> datetime:
    """`now` rounded down to the minute, in UTC: the demo's export instant."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.replace(second=0, microsecond=0)
