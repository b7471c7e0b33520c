"""The demo partner program: a deterministic generator and the `prm demo` database build."""

from bot.demo.generator import (
    ARTICLE_PARTNER_KEY,
    ARTICLE_REPS,
    DEFAULT_SEED,
    HEADERS,
    KINDS,
    REP_A_KEY,
    REP_B_KEY,
    GenerationSummary,
    generate,
)

__all__ = [
    "ARTICLE_PARTNER_KEY",
    "ARTICLE_REPS",
    "DEFAULT_SEED",
    "HEADERS",
    "KINDS",
    "REP_A_KEY",
    "REP_B_KEY",
    "GenerationSummary",
    "generate",
]
