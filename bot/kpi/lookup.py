"""Checks a KPI question before answering it, so a typo gets a hint rather than zeros.

Used by every front end (CLI, Slack): an unknown partner, manager or tier, or an empty
database, is a `ScopeError` whose message is meant for people.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

from sqlalchemy import ColumnElement, Connection, func, select

from bot.kpi.params import Scope
from bot.kpi.sql import P


class ScopeError(ValueError):
    """The question names something the store does not hold."""


class EmptyStoreError(ScopeError):
    """No partner at all: there is nothing to report on yet."""


# Legal forms people leave out when they name a partner ("青葉ネットワーク2" for
# "株式会社青葉ネットワーク2", "Acme" for "Acme Corp Ltd"). Matched on the normalised name
# (NFKC, lower case), so ㈱ is already (株) and "ＬＬＣ" is "llc".
_LEGAL_JA = ("株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "(株)", "(有)", "(同)")
_LEGAL_EN = re.compile(
    r"[\s,]+(?:pty\.?\s+ltd|co\.?,?\s+ltd|corp(?:oration)?|inc|llc|ltd|limited|co|gmbh|kk|k\.k|plc|ag|sa|bv)\.?$"
)


def normalize_name(name: str) -> str:
    """A partner name as matched: NFKC (full-width letters, ㈱ → (株)), case-folded,
    spaces collapsed, legal forms (株式会社, (株), Inc., LLC, Pty Ltd, GmbH, KK…) removed."""
    text = " ".join(unicodedata.normalize("NFKC", name).casefold().split())
    changed = True
    while changed and text:
        changed = False
        for form in _LEGAL_JA:
            if text.startswith(form) or text.endswith(form):
                text = (text[len(form) :] if text.startswith(form) else text[: -len(form)]).strip()
                changed = True
        stripped = _LEGAL_EN.sub("", text).strip(" ,")
        if stripped and stripped != text:
            text, changed = stripped, True
    return text or " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def kpi_hint(word: str, names: tuple[str, ...] | list[str] | None = None) -> str | None:
    """The KPI a mistyped word most likely means (`dels` → `deals`), or None when the word
    is not close to any KPI name (`Atlas` is a partner, not `deals`)."""
    from bot.kpi import KPI_NAMES  # late: bot.kpi imports this module

    low = unicodedata.normalize("NFKC", word).strip().casefold()
    if not low:
        return None
    for name in names or KPI_NAMES:
        if low == name or (len(low) >= 3 and name.startswith(low)):
            return name
    hits = difflib.get_close_matches(low, list(names or KPI_NAMES), n=1, cutoff=0.75)
    return hits[0] if hits else None


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
    rows = _candidates(conn, where)
    by_key = {key: name for key, name in rows}
    by_name: dict[str, str] = {}
    for key, name in rows:
        by_name.setdefault(normalize_name(name), key)
    keys = [key for key, _ in same_name(text, rows)]
    keys += [k for k in closest(text, list(by_key), n) if k not in keys]
    for name in closest(normalize_name(text), list(by_name), n):
        key = by_name[name]
        if key not in keys:
            keys.append(key)
    return [(key, by_key[key]) for key in keys[:n]]


def _candidates(conn: Connection, where: ColumnElement[bool] | None) -> list[tuple[str, str]]:
    query = select(P.c.key, P.c.name).order_by(P.c.key)
    return [(k, n) for k, n in conn.execute(query if where is None else query.where(where))]


def same_name(text: str, rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (key, name) rows whose name equals `text` once both are normalised
    (`normalize_name`): width, case and legal form do not matter."""
    wanted = normalize_name(text)
    return [(k, n) for k, n in rows if normalize_name(n) == wanted]


def find_partner(
    conn: Connection, text: str, where: ColumnElement[bool] | None = None
) -> tuple[str, str] | None:
    """The one partner (key, name) `text` names once legal form, width and case are set
    aside ("青葉ネットワーク2" is "株式会社青葉ネットワーク2", "acme" is "Acme Corp Ltd");
    None when no partner or more than one matches. `where` limits the candidates to the
    asker's book, as for `suggest_partners`."""
    hits = same_name(text, _candidates(conn, where))
    return hits[0] if len(hits) == 1 else None


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
