"""Checks a KPI question before answering it, so a typo gets a hint rather than zeros.

Used by every front end (CLI, Slack): an unknown partner, manager or tier, or an empty
database, is a `ScopeError` whose message is meant for people.
"""

from __future__ import annotations

import difflib

from sqlalchemy import ColumnElement, Connection, func, select

from bot.kpi.params import Scope
from bot.kpi.sql import P


class ScopeError(ValueError):
    """The question names something the store does not hold."""


class EmptyStoreError(ScopeError):
    """No partner at all: there is nothing to report on yet."""


def closest(word: str, candidates: list[str], n: int = 3) -> list[str]:
    lowered = {c.lower(): c for c in candidates}
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.5)
    hits += [c for low, c in lowered.items() if word.lower() in low and c not in hits]
    return [lowered.get(h, h) for h in hits][:n]


def suggest_partners(
    conn: Connection, text: str, n: int = 3, where: ColumnElement[bool] | None = None
) -> list[tuple[str, str]]:
    """Partners whose key or name is closest to `text`, as (key, name); `where` limits the
    candidates (Slack suggests only from the asker's own book)."""
    query = select(P.c.key, P.c.name)
    rows = conn.execute(query if where is None else query.where(where)).all()
    by_key = {key: name for key, name in rows}
    by_name = {name.lower(): key for key, name in rows}
    keys = closest(text, list(by_key), n)
    for name in closest(text, [name for _, name in rows], n):
        key = by_name[name.lower()]
        if key not in keys:
            keys.append(key)
    return [(key, by_key[key]) for key in keys[:n]]


def check_scope(conn: Connection, scope: Scope) -> None:
    """Raise ScopeError with a helpful message when the scope names an unknown thing."""
    if conn.execute(select(func.count()).select_from(P)).scalar_one() == 0:
        raise EmptyStoreError(
            "the database holds no partners yet: run `prm import partners FILE` "
            "(then users, assets, events) or `prm demo`"
        )
    if scope.partner_key is not None:
        found = conn.execute(select(P.c.id).where(P.c.key == scope.partner_key)).first()
        if found is None:
            close = suggest_partners(conn, scope.partner_key)
            hint = (
                "; did you mean " + ", ".join(f"{k} ({n})" for k, n in close) + "?" if close else ""
            )
            raise ScopeError(f"unknown partner {scope.partner_key!r}{hint}")
    _check_value(conn, P.c.manager_slack_id, scope.manager_slack_id, "manager")
    _check_value(conn, P.c.tier, scope.tier, "tier")


def _check_value(conn: Connection, column, value: str | None, what: str) -> None:
    if value is None:
        return
    known = sorted(v for (v,) in conn.execute(select(column).distinct()) if v is not None)
    if value not in known:
        close = closest(value, known) or known[:5]
        hint = f"; known {what}s include {', '.join(close)}" if close else ""
        raise ScopeError(f"no partner has {what} {value!r}{hint}")
