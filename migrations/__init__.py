"""Alembic migrations; the schema is only ever built by running them."""
