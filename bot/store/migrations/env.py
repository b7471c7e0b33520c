"""Alembic environment: the connection comes from `bot.store.schema`, never from an ini file."""

from __future__ import annotations

from alembic import context
from alembic.runtime.environment import NameFilterParentNames, NameFilterType
from sqlmodel import SQLModel

import bot.store.tables  # noqa: F401  (registers the tables on the metadata)
from bot.store.schema import owned_by_us

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs bare `alembic`
    raise RuntimeError("run migrations with `prm db upgrade`")


def include_name(
    name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames
) -> bool:
    """`owned_by_us` with the argument types alembic declares for `include_name`."""
    return owned_by_us(name, type_, dict(parent_names))


context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
