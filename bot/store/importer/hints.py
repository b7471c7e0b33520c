"""Suggestions that turn a rejection into a fix: "did you mean …", and which encoding a file
that is not UTF-8 seems to be in.

Pure functions, no I/O; the readers and validators put their answers into reasons.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from functools import lru_cache

# A misspelling, not merely a related word: `ammount` -> `amount` (0.92), `occured_at` ->
# `occurred_at` (0.95), `registered` -> `registered_at` (0.87); `amount_jpy` (0.75) and
# `deal.lost` -> `deal.won` (0.71) get no suggestion.
CUTOFF = 0.8


def _normal(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _one_typo(a: str, b: str) -> bool:
    """Whether `a` and `b` differ by one typo: a letter added, dropped, changed or two
    neighbours swapped (`nmae` / `name`, which difflib rates only 0.75)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def did_you_mean(name: str, candidates: Iterable[str], *, cutoff: float = CUTOFF) -> str | None:
    """The candidate `name` is most likely a misspelling of, or None."""
    options = list(candidates)
    normal = _normal(name)
    for option in options:
        if normal == option.lower():
            return option  # `Key`, `Partner Key`, `partner-key`
    found = difflib.get_close_matches(normal, options, n=1, cutoff=cutoff)
    if found:
        return found[0]
    if len(normal) >= 4:
        typos = [option for option in options if _one_typo(normal, option)]
        if len(typos) == 1:
            return typos[0]
    return None


@lru_cache(maxsize=1024)
def suggest_column(name: str, candidates: tuple[str, ...]) -> str | None:
    """`did_you_mean` for a column or JSON key, cached: the same names come on every row."""
    return did_you_mean(name, candidates)


def suggest_event_type(text: str, types: tuple[str, ...]) -> list[str]:
    """Event types `text` probably meant: `deal.registerd` -> deal.registered, `login` ->
    user.login, `DEAL_WON` -> deal.won, `registered` -> lead.registered and deal.registered."""
    normal = re.sub(r"[\s_\-/]+", ".", text.strip().lower())
    if normal in types:
        return [normal]
    if "." in normal:
        return difflib.get_close_matches(normal, types, n=1, cutoff=CUTOFF)
    # No dot: the part after it alone, `login`, `downloaded`, `registered`.
    tails: dict[str, list[str]] = {}
    for type_ in types:
        tails.setdefault(type_.rsplit(".", 1)[-1], []).append(type_)
    tail = difflib.get_close_matches(normal, list(tails), n=1, cutoff=CUTOFF)
    return tails[tail[0]] if tail else []


def alternatives(options: list[str]) -> str:
    """`'a'`, `'a' or 'b'`, `'a', 'b' or 'c'`."""
    quoted = [repr(o) for o in options]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


# -- encodings --------------------------------------------------------------------------

# Kana, CJK ideographs, full-width forms and Japanese punctuation: what Japanese text is
# made of. Half-width katakana are Japanese too, but they are also what EUC-JP bytes become
# when read as Shift-JIS, so when both decode they count against a guess.
_JAPANESE = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff01-\uff5e]")
_HALF_WIDTH_KANA = re.compile(r"[\uff61-\uff9f]")
_LATIN_LETTERS = re.compile(r"[\u00c0-\u00ff]")


def guess_encoding(sample: bytes) -> tuple[str, str] | None:
    """`(name for people, Python codec)` that `sample` (bytes that are not UTF-8) looks like.

    Tells UTF-16 by its byte-order mark or its zero bytes, Shift-JIS (cp932, what Excel
    writes on Japanese Windows) from EUC-JP by which decodes to more Japanese text, and
    falls back to Windows-1252 for accented Latin letters. None when nothing fits.
    """
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16", "utf-16"
    if len(sample) >= 4 and sample.count(0) * 4 >= len(sample):
        # ASCII text in UTF-16 without a byte-order mark: every other byte is zero.
        odd_zeros = sample[1::2].count(0)
        even_zeros = sample[0::2].count(0)
        return ("UTF-16", "utf-16-le") if odd_zeros >= even_zeros else ("UTF-16", "utf-16-be")
    japanese: list[tuple[int, str, str]] = []
    for name, codec in (("Shift-JIS", "cp932"), ("EUC-JP", "euc_jp")):
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        full, half = len(_JAPANESE.findall(text)), len(_HALF_WIDTH_KANA.findall(text))
        if full + half:
            japanese.append((full - 2 * half, name, codec))
    if japanese:
        _, name, codec = max(japanese)  # both decode: the one that is less half-width kana
        return name, codec
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError:
        return None
    if _LATIN_LETTERS.search(text):
        return "Windows-1252 (Western European)", "cp1252"
    return None


def encoding_hint(sample: bytes) -> str:
    """What to add after "not valid UTF-8": the likely encoding, or how to name one."""
    guess = guess_encoding(sample)
    if guess is not None:
        name, codec = guess
        return f"; it looks like {name}: try --encoding {codec}"
    return " (name the file's encoding with --encoding, e.g. --encoding cp932 for Shift-JIS)"
