"""The README documents every setting, so the configuration table cannot fall behind."""

from __future__ import annotations

from pathlib import Path

from bot.core.settings import Settings

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme():
    missing = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names = list(getattr(alias, "choices", [])) or [f"PRM_{name.upper()}"]
        if not any(f"`{n}`" in README for n in names):
            missing.append(names[0])
    assert not missing, f"document these in the README's configuration table: {missing}"
