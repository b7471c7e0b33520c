"""How a list of names is shown: the first LIST_LIMIT, and how many more there are.

Every answer and scorecard that lists partners or reps builds its "first 10 names, and
12 more" here, so the cut and the count can never disagree between two messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

LIST_LIMIT = 10  # names shown per list; the rest is counted ("and 12 more")

T = TypeVar("T")


def shown(items: Sequence[T]) -> list[T]:
    """The items a list shows (the ones whose names are worth looking up)."""
    return list(items[:LIST_LIMIT])


def listed(items: Sequence[Any]) -> dict[str, Any]:
    """{"items": the first LIST_LIMIT, "more": how many are left out, "total": all}."""
    return {
        "items": shown(items),
        "more": max(0, len(items) - LIST_LIMIT),
        "total": len(items),
    }
