"""Alembic migrations; run through `prm db upgrade` (see `bot/schema.py`)."""
