"""The store sits at the bottom: it never imports the domain, the KPI engine, Slack or
the web, so that any of them can call it and none of them leaks into a query. And the
dialect-specific statements (SQLite's and PostgreSQL's INSERT … ON CONFLICT) stay in
bot/store/engine.py, the one place that knows the two databases apart."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import bot.store

STORE = Path(bot.store.__file__).parent
BOT = STORE.parent
ABOVE = ("bot.domain", "bot.kpi", "bot.slack", "bot.web", "bot.handlers", "bot.jobs", "bot.cli")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_store_imports_nothing_above_it():
    offenders = {
        str(path.relative_to(BOT.parent)): sorted(
            name for name in imported(path) if name.startswith(ABOVE)
        )
        for path in STORE.rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_dialect_inserts_live_only_in_the_engine_module():
    # The importer's bulk loader batches its own dialect statements (its reason to exist).
    allowed = {STORE / "engine.py", *(STORE / "importer").rglob("*.py")}
    users = [
        str(path.relative_to(BOT.parent))
        for path in BOT.rglob("*.py")
        if path not in allowed
        and "migrations" not in path.parts
        and any(name.startswith("sqlalchemy.dialects") for name in imported(path))
    ]
    assert users == []


def test_the_link_rules_load_without_the_web_framework():
    code = "import sys, bot.domain.links, bot.domain.content; print('fastapi' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
