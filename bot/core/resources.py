"""Where the files that ship with the bot live, so every reader finds them the same way.

`templates/` and `manifest.yml` sit at the top of the repository (where people edit them);
a wheel carries them inside the package as `bot/_data/` (see `pyproject.toml`,
`force-include`). Rules and migrations are package files already.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]


def shipped(name: str) -> Path:
    """`name` as installed in the wheel, else in the source checkout."""
    packaged = PACKAGE / "_data" / name
    return packaged if packaged.exists() else PACKAGE.parent / name


TEMPLATES = shipped("templates")
MANIFEST = shipped("manifest.yml")
