"""The partner program file (`PRM_PROGRAM`, YAML): certifications, tiers and the health
score's weights, as kpi-spec.md §7 declares them. A default ships (`program.yml`).

Read once per question and handed to the KPIs inside `KpiParams`, so a tier means the same
in the CLI, the API, Slack and the jobs. Every mistake in the file is reported with the
file, the line and the key (`ProgramError`), never as a stack trace: a program manager
edits this file by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PROGRAM = Path(__file__).with_name("program.yml")

# The measures a tier may require (§7), in the report's order.
MEASURES: tuple[str, ...] = (
    "won_deals_12m",
    "won_amount_12m",
    "deals_registered_12m",
    "leads_registered_12m",
    "certified_reps",
    "active_months_3m",
)
# The health score's components (bot.kpi.health), in the report's order.
COMPONENTS: tuple[str, ...] = ("recency", "breadth", "journey", "deals", "content")


class ProgramError(ValueError):
    """A program file that cannot be used: the message names the file, line and key."""


@dataclass(frozen=True)
class Certification:
    key: str
    course: str  # the training.completed object_key that certifies
    valid_months: int


@dataclass(frozen=True)
class Tier:
    key: str
    requires: tuple[tuple[str, int | float], ...] = ()  # (measure, at least), file order


@dataclass(frozen=True)
class Program:
    certifications: tuple[Certification, ...]
    tiers: tuple[Tier, ...]  # lowest first
    health_weights: tuple[tuple[str, int | float], ...]  # (component, points), COMPONENTS order
    health_drop_alert: int | float = 15

    def tier_keys(self) -> tuple[str, ...]:
        return tuple(t.key for t in self.tiers)

    def tier(self, key: str | None) -> Tier | None:
        return next((t for t in self.tiers if t.key == key), None)


class _Lines(yaml.SafeLoader):
    """A SafeLoader whose mappings remember the line of each key (for the errors)."""


def _mapping(loader: _Lines, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map(line=node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


class _Map(dict[Any, Any]):
    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.lines: dict[Any, int] = {}

    def at(self, key: str) -> int:
        return self.lines.get(key, self.line)


_Lines.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_program(path: str | Path | None = None) -> Program:
    """The program in `path` (None or empty: the built-in default). Read once per
    version of the file: an edited file is read again, without a restart."""
    source = Path(path or DEFAULT_PROGRAM)
    try:
        version = source.stat().st_mtime_ns
    except OSError:
        version = 0  # missing: _load says so
    return _load(str(source), version)


@cache
def _load(path: str, version: int) -> Program:
    source = Path(path)
    try:
        data = yaml.load(source.read_text(encoding="utf-8"), Loader=_Lines)
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgramError(f"cannot read the program file {source}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise ProgramError(f"{source}{where}: not valid YAML ({problem})") from None
    try:
        return parse(data)
    except ProgramError as exc:
        raise ProgramError(f"{source} {exc}") from None


def parse(data: Any) -> Program:
    """A Program from the file's data; the errors start with "line N:"."""
    if not isinstance(data, _Map):
        raise ProgramError("line 1: expected a mapping with `tiers:` (and `certifications:`)")
    _known(data, ("certifications", "tiers", "health"), "the program")
    certs = _certifications(data)
    tiers = _tiers(data)
    weights, drop = _health(data)
    return Program(certs, tiers, weights, drop)


def _known(m: _Map, keys: tuple[str, ...], what: str) -> None:
    for key in m:
        if key not in keys:
            raise ProgramError(
                f"line {m.at(key)}: unknown key `{key}` in {what}; expected {', '.join(keys)}"
            )


def _list(data: _Map, key: str, required: bool) -> list[Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise ProgramError(f"line {data.line}: `{key}:` is missing")
        return []
    if not isinstance(value, list):
        raise ProgramError(f"line {data.at(key)}: `{key}` must be a list")
    return value


def _text(m: _Map, key: str, what: str) -> str:
    value = m.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ProgramError(f"line {m.line}: {what} needs a `{key}`")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ProgramError(f"line {m.at(key)}: `{key}` of {what} must be text")
    return str(value).strip()


def _number(m: _Map, key: str, what: str, *, whole: bool = False) -> int | float:
    value = m[key]
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    if not ok or (whole and not float(value).is_integer()):
        kind = "a whole number" if whole else "a number"
        raise ProgramError(f"line {m.at(key)}: `{key}` of {what} must be {kind} ≥ 0, not {value!r}")
    return int(value) if float(value).is_integer() else float(value)


def _certifications(data: _Map) -> tuple[Certification, ...]:
    out: list[Certification] = []
    for i, item in enumerate(_list(data, "certifications", False), 1):
        what = f"certification {i}"
        if not isinstance(item, _Map):
            raise ProgramError(f"line {data.at('certifications')}: {what} must be a mapping")
        _known(item, ("key", "course", "valid_months"), what)
        key = _text(item, "key", what)
        what = f"certification `{key}`"
        if "valid_months" not in item:
            raise ProgramError(f"line {item.line}: {what} needs `valid_months`")
        months = int(_number(item, "valid_months", what, whole=True))
        if months < 1:
            raise ProgramError(
                f"line {item.at('valid_months')}: `valid_months` of {what} must be ≥ 1"
            )
        if any(c.key == key for c in out):
            raise ProgramError(f"line {item.at('key')}: certification `{key}` is declared twice")
        out.append(Certification(key, _text(item, "course", what), months))
    return tuple(out)


def _tiers(data: _Map) -> tuple[Tier, ...]:
    items = _list(data, "tiers", True)
    if not items:
        raise ProgramError(f"line {data.at('tiers')}: `tiers` needs at least one tier")
    out: list[Tier] = []
    for i, item in enumerate(items, 1):
        what = f"tier {i}"
        if not isinstance(item, _Map):
            raise ProgramError(f"line {data.at('tiers')}: {what} must be a mapping with a `key`")
        _known(item, ("key", "requires"), what)
        key = _text(item, "key", what)
        what = f"tier `{key}`"
        if any(t.key == key for t in out):
            raise ProgramError(f"line {item.at('key')}: tier `{key}` is declared twice")
        requires = item.get("requires") or _Map(item.line)
        if not isinstance(requires, _Map):
            raise ProgramError(
                f"line {item.at('requires')}: `requires` of {what} must be a mapping"
            )
        for measure in requires:
            if measure not in MEASURES:
                raise ProgramError(
                    f"line {requires.at(measure)}: {what} requires `{measure}`, which is not a "
                    f"measure; use {', '.join(MEASURES)}"
                )
        pairs = tuple((str(m), _number(requires, m, f"{what}'s requires")) for m in requires)
        out.append(Tier(key, pairs))
    return tuple(out)


DEFAULT_WEIGHTS: tuple[tuple[str, int | float], ...] = (
    ("recency", 30),
    ("breadth", 20),
    ("journey", 20),
    ("deals", 20),
    ("content", 10),
)


def _health(data: _Map) -> tuple[tuple[tuple[str, int | float], ...], int | float]:
    health = data.get("health")
    if health is None:
        return DEFAULT_WEIGHTS, 15
    if not isinstance(health, _Map):
        raise ProgramError(f"line {data.at('health')}: `health` must be a mapping")
    _known(health, ("weights", "drop_alert"), "health")
    drop: int | float = 15
    if "drop_alert" in health:
        drop = _number(health, "drop_alert", "health")
    weights = health.get("weights")
    if weights is None:
        return DEFAULT_WEIGHTS, drop
    if not isinstance(weights, _Map):
        raise ProgramError(f"line {health.at('weights')}: `weights` must be a mapping")
    for name in weights:
        if name not in COMPONENTS:
            raise ProgramError(
                f"line {weights.at(name)}: `{name}` is not a health component; use "
                f"{', '.join(COMPONENTS)}"
            )
    pairs = tuple(
        (c, _number(weights, c, "the health weights")) for c in COMPONENTS if c in weights
    )
    total = sum(w for _, w in pairs)
    if abs(total - 100) > 1e-9:
        raise ProgramError(
            f"line {health.at('weights')}: the health weights add up to {total:g}, not 100"
        )
    return pairs, drop
